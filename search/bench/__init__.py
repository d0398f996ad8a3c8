"""Benchmarks of the search service: ``python -m search.bench NAME [--json] [sizes...]``.

- ``overhead``: the service against a plain Optuna loop on a fixed list of CNN configurations;
- ``target``: wall time to a validation accuracy, service against Optuna and KerasTuner;
- ``utilization``: the share of the machine's CPU time the trials get during a search;
- ``gpu``: epochs per minute with 1, 2, 4, 8 trials sharing one GPU (GPU machines only);
- ``levers``: small A/B measurements of the speed levers, in one process.

They measure; they are not tests (``tests/test_bench.py`` checks their arithmetic and runs
one tiny ``overhead``). ``docs/PERFORMANCE.md`` holds the figures and the commands.
"""
