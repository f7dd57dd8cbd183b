"""Benchmarks (run as scripts); `benchmarks.febrl` is shared with the test suite."""
