"""keyhive's benchmark suite: ``python -m benchmarks`` (``make bench``).

Benchmarks are not tests: they assert no speed, they measure it and write
``docs/benchmarks.md`` and ``benchmarks/results/latest.json`` from one run.
"""
