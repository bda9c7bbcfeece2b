"""The producer: read posts from files or stdin, give each an id, and send them to Kafka.

Reading and planning (`sources`, `formats`, `rows`, `ids`, `options`, `plan`) need no broker;
`send` paces, shows progress and counts what the broker acknowledged. Depends on `schemas`.
"""
