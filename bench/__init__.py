"""Benchmarks, run as scripts (python bench/<name>.py); a package only so tools tell bench/index.py from the index package."""
