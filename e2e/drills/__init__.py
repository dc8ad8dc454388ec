"""The drills folder's Python, run as modules (python3 -m e2e.drills.analyze ...)."""
