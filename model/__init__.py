"""The model runtime: load a bundle and predict (normalisation, members, combination).

The one "how the ensemble predicts", used by the worker, by training's evaluation and by the
benchmarks, so that a report's figures are those of what runs in production. Depends on
`schemas` only.
"""
