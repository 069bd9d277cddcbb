"""Reliability suite: a live production topology, a Jepsen-style bank workload with its
checker, and the faults injected into it. Tests live in tests/reliability/; `make soak`
runs the long version (docs/RELIABILITY.md)."""
