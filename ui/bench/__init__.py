"""The Benchmark window and its parts (see window.py)."""
