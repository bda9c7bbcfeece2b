"""The contracts every component shares: post message, labels, prediction, tables and
migrations, bundle manifest, Redis keys, settings and exit codes. Imports no other package of
the project."""
