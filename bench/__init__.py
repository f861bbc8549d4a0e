"""Benchmarks: `make bench` (all groups) or `make bench ONLY=<group>`.

Each prints one line per figure with its unit and, where an issue names a reference, the ratio
to that reference measured in the same run (the machines are shared and noisy).
"""
