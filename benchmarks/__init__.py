"""Benchmarks of the search service: ``python -m benchmarks NAME [--json] [--seed N] [its own flags]``.

- ``overhead``: the service against a plain Optuna loop on a fixed list of CNN configurations;
- ``target``: wall time to a validation accuracy, service against Optuna and KerasTuner;
- ``utilization``: the share of the machine's CPU time the trials get during a search;
- ``gpu``: epochs per minute with 1, 2, 4, 8 trials sharing one GPU (GPU machines only);
- ``scale``: the driver's own costs with thousands of trials on many simulated slots;
- ``memory``: a reused trial slot's memory over a long run of trials;
- ``asha``: the trials a run's first ASHA rung stopped, trained to their planned epochs: how
  many would have ended among the run's best;
- ``ensemble_members``: a run's best configurations trained with several seeds on its search
  split: which members make the best ensemble, on the validation images;
- ``longer_training``: fixed CNN designs, the space's widest and wider (and a run's best
  configuration, ``--run``), trained past the space's epoch cap on the search split: what
  longer training and wider filters buy.

They measure; they are not tests (``tests/benchmarks/`` checks their arithmetic and runs
one tiny ``overhead``). ``docs/PERFORMANCE.md`` holds the figures and the commands.

They sit beside the service, not inside it: ``pip install`` installs ``search``, ``spaces``
and ``mnist_models`` only, so the benchmarks run from a checkout's root (``python -m
benchmarks`` finds them there; the ``[bench]`` extra adds KerasTuner for ``target``). They use
the service's faces only (``search.tuning``, ``search.study``, ...), never its private modules.
"""

__all__ = ["asha", "ensemble_members", "gpu", "longer_training", "memory", "overhead", "scale", "target", "utilization"]
