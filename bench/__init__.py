"""Benchmarks: each prints its figures beside a baseline measured in the same run
(PERFORMANCE.md). They are never timed assertions in the test suite."""
