"""The rollout folder's Python, run as modules (python3 -m e2e.rollout.analyze ...)."""
