"""`python -m cli ...`: the same entry point as the `moodwatch` script."""

from cli.main import main

main()
