"""Local services for development and tests: install and start Kafka, PostgreSQL and Redis on
loopback, and private topics for tests and benchmarks.

Not part of the production image (see the Dockerfile): there, compose runs the services.
Depends on `schemas` only.
"""
