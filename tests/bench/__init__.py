"""Benchmarks of the presence engine (``python -m tests.bench``); numbers, never assertions."""
