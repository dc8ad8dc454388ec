"""The project's end-to-end harness. Its Python runs as modules from the repository root, e.g.
`python3 -m e2e.rollout.analyze ...` (shell scripts set PYTHONPATH to the root instead of changing
directory); e2e/README.md maps the folders."""
