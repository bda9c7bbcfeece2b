"""The worker: consume posts, validate, micro-batch, label, store, commit; dead-letter the rest.

Depends on `schemas` and the model runtime (`model`); nothing imports it but the CLI,
the benchmarks and the tests.
"""
