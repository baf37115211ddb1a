"""Pieces of bench/soak.py: the sandbox it runs, the processes it manages, the load and the checks."""
