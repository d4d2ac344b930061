"""The ``cnn-course`` command line and everything only it runs: the notebook runner and its
report, ``doctor``, ``prepare``, the data fetcher, the solutions copy, ``train``,
``predict`` and the benchmarks. The notebooks never import this package, and the rest of
``helpers`` imports nothing from it (a test holds both)."""
