"""Does a member keep its accuracy in int8? Measured on CARER test and on ood_dev, not assumed.

A member runs in int8 on a CPU only if, on both splits, its int8 form stays within 0.3 points of
its fp32 form in accuracy and in macro-F1; otherwise it runs in fp32. The figures of both forms
go into the manifest and the bundle's report side by side.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from schemas.bundle import BundleManifest

INT8_MAX_DROP = 0.003  # 0.3 points
GATE_SPLITS = ("carer-test", "ood-dev")
METRICS = ("accuracy", "macro_f1")

SplitFigures = Mapping[str, Mapping[str, float]]  # split -> {"accuracy": ..., "macro_f1": ...}
Score = Callable[[str], Mapping[str, SplitFigures]]  # precision -> member -> its figures


@dataclass(frozen=True)
class GateVerdict:
    member: str
    fp32: SplitFigures
    int8: SplitFigures
    recipe: str = "all MatMuls"  # training/onnx_export.py's INT8_RECIPES

    @property
    def worst_drop(self) -> float:
        return max(
            self.fp32[split][metric] - self.int8[split][metric]
            for split in GATE_SPLITS
            for metric in METRICS
        )

    @property
    def precision(self) -> str:
        return "int8" if self.worst_drop <= INT8_MAX_DROP + 1e-9 else "fp32"

    @property
    def reason(self) -> str:
        verdict = "within" if self.precision == "int8" else "beyond"
        return (
            f"runs in {self.precision}: int8 ({self.recipe}) loses at most"
            f" {100 * self.worst_drop:.2f} points of"
            f" accuracy or macro-F1 on {' and '.join(GATE_SPLITS)}, {verdict} the"
            f" {100 * INT8_MAX_DROP:.1f} allowed"
        )

    def figures(self) -> dict[str, object]:
        """For the manifest's metrics and the report: both forms side by side, per split."""
        rounded = {
            precision: {s: {m: round(v, 4) for m, v in f.items()} for s, f in forms.items()}
            for precision, forms in (("fp32", self.fp32), ("int8", self.int8))
        }
        return rounded | {
            "worst_drop": round(self.worst_drop, 4),
            "chosen": self.precision,
            "recipe": self.recipe,
        }


def run_gate(
    members: list[str],
    fp32: Mapping[str, SplitFigures],
    int8: Mapping[str, SplitFigures],
    recipe: str,
) -> list[GateVerdict]:
    """Each member's int8 figures (quantised with `recipe`) against its fp32 ones."""
    return [GateVerdict(name, fp32[name], int8[name], recipe) for name in members]


def gate_rows(manifest: BundleManifest) -> dict[str, dict[str, object]]:
    """member -> precision chosen, why, and fp32 vs int8 figures: the report's section."""
    return {
        spec.name: {"runtime": spec.cpu.runtime, "precision": spec.cpu.precision}
        | {"reason": spec.cpu.reason, "figures": spec.metrics.get("int8_gate", {})}
        for spec in manifest.members
        if spec.cpu is not None
    }
