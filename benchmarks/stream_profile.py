"""Optional py-spy sampling of the benchmark's worker (`pip install py-spy`).

py-spy cannot attach to a running process on every machine (ptrace rules), so it launches the
worker itself: `prefix` goes in front of the worker's command line, and `summarise` turns the
samples into a ranked list once the worker has exited.
"""

import shutil
import sys
from collections import Counter
from pathlib import Path


def prefix(directory: Path | None, name: str) -> list[str]:
    """py-spy's command line to put before the worker's, or [] when not profiling."""
    spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if directory is None or spy is None:
        return []
    directory.mkdir(parents=True, exist_ok=True)
    output = directory / f"{name}.txt"
    return [spy, "record", "--format", "raw", "--rate", "50", "--output", str(output), "--"]


def summarise(directory: Path | None, name: str, top: int = 45) -> None:
    """DIR/NAME.top.txt: the share of samples in which each function is on the stack."""
    raw = directory / f"{name}.txt" if directory else None
    if raw is None or not raw.exists():
        return
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        total += int(count)
        for frame in set(stack.split(";")):
            inclusive[frame] += int(count)
    rows = [f"{100 * n / max(total, 1):5.1f}%  {frame}" for frame, n in inclusive.most_common(top)]
    (raw.parent / f"{name}.top.txt").write_text(f"{total} samples\n" + "\n".join(rows) + "\n")
