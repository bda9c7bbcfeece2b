"""Training: fine-tune the ensemble members, calibrate, evaluate and write a model bundle.

Depends on `schemas` and the model runtime (`model`): its evaluation predicts through the
worker's own predictor. It hands the worker a bundle and nothing else.
"""
