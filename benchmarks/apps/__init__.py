"""The apps of part (g): one route, ``GET /hello``, open or behind each kind of check.

Each module names one framework; its factories are what the servers load
(``uvicorn --factory``, ``gunicorn 'module:factory()'``). Configuration comes from the
environment (``BENCH_*``, ``KEYHIVE_*``), so no token is ever written into a file.
"""
