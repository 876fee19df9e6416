"""Benchmarks: measurements of cost and speed, never pass/fail. `make bench` runs them all.

`python -m bench` starts its own DynamoDB Local, writes `bench/results.json` (a list of
{"name", "value", "unit"}) and prints a table with the targets from issue 8 beside each value.
See docs/performance.md for what each number means for a deployment.
"""
