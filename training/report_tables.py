"""Markdown tables for the evaluation report's sections."""


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A Markdown table's lines, then an empty line."""
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows] + [""]
