"""The Markdown of the report's averaging sections (`training.calibration_report`): calibration
methods compared per split, and counted against expected shares per emotion."""

from typing import Any

from training.report_tables import table

SPLIT_NAMES = {"validation": "CARER validation", "test": "CARER test", "ood": "ood_dev"}


def averaging_markdown(report: dict[str, Any]) -> list[str]:
    return _methods(report) + _shares(report)


def _methods(report: dict[str, Any]) -> list[str]:
    methods = report.get("calibration_methods")
    if not methods:
        return []
    splits = [split for split in report["ensemble"] if split in next(iter(methods.values()))]
    lines = [
        "## Calibration: fitted on what",
        "",
        "ECE / NLL of the ensemble per split, with no temperature, with the temperatures fitted on"
        " CARER validation alone (the recipe before issue 16), with those fitted on CARER"
        " validation plus the held-out real-post slice (each domain weighted equally) and, where"
        " the bundle has them, with those fitted per text form (plain: lower-case letters, digits"
        " and spaces only, as CARER ships its tweets; typed: anything else).",
        "",
    ]
    rows = []
    for method, entry in methods.items():
        cells = [method, _temperature_cell(entry["temperatures"])]
        cells += [f"{entry[split]['ece']:.4f} / {entry[split]['nll']:.4f}" for split in splits]
        rows.append(cells)
    header = ["temperatures", "members; ensemble", *(SPLIT_NAMES.get(s, s) for s in splits)]
    return lines + table(header, rows)


def _temperature_cell(temperatures: dict[str, Any]) -> str:
    """ "m1, m2; ensemble", or one such group per text form ("plain: ...; typed: ...")."""

    def group(found: dict[str, Any]) -> str:
        return ", ".join(f"{t:.3f}" for t in found["members"]) + f"; {found['ensemble']:.3f}"

    forms = temperatures.get("forms")
    if not forms:
        return group(temperatures)
    return " / ".join(f"{form}: {group(found)}" for form, found in forms.items())


def _shares(report: dict[str, Any]) -> list[str]:
    shares = report.get("shares")
    if not shares:
        return []
    lines = [
        "## Shares: counted labels against expected (mean probability)",
        "",
        "Per emotion, the true share of the split's labels, the share of predicted labels (what"
        " counting the `label` column gives) and the expected share (the mean probability, what"
        " the rollup's `probability_sum` gives); absolute errors against the truth.",
        "",
    ]
    for split, rows in shares.items():
        body = [
            [label, f"{r['true']:.4f}", f"{r['counted']:.4f}", f"{r['expected']:.4f}",
             f"{r['counted_error']:.4f}", f"{r['expected_error']:.4f}"]
            for label, r in rows.items()
            if label != "mean"
        ]  # fmt: skip
        mean = rows["mean"]
        body.append(
            ["mean", "", "", "", f"{mean['counted_error']:.4f}", f"{mean['expected_error']:.4f}"]
        )
        header = ["emotion", "true", "counted", "expected", "|counted − true|", "|expected − true|"]
        lines += [f"{SPLIT_NAMES.get(split, split)}:", ""] + table(header, body)
    return lines
