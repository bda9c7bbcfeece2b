"""The `moodwatch` command: parses options and dispatches to the package that does the work.

It is the one place that may import every package (worker, producer, training, dashboard,
devstack), and it does so inside each command, so that one command's dependencies never slow
or break another.
"""
