"""Put PyAV and numpy, built for Lambda, into vendor/ before `chalice package`.

`chalice package` installs requirements.txt itself, but it accepts only the manylinux wheel tags
it knows, and av and numpy publish manylinux_2_28 wheels only: it would try to build them from
source and leave them out. Chalice copies vendor/ into the package as it is, so the wheels are
downloaded here for the Lambda runtime (Python 3.11 on Amazon Linux 2023, glibc 2.34, x86_64:
manylinux_2_28 runs there) and unpacked into vendor/. A marker file names what is there, so a
second synth does nothing.

    python -m infra.vendor          # what infra/stack.py runs before packaging
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "vendor"
REQUIREMENTS = ROOT / "requirements-vendor.txt"
MARKER = VENDOR / ".requirements-vendor.txt"
PLATFORM = "manylinux_2_28_x86_64"
PYTHON = "3.11"


def ensure_vendored() -> Path:
    wanted = REQUIREMENTS.read_text()
    if MARKER.exists() and MARKER.read_text() == wanted:
        return VENDOR
    with tempfile.TemporaryDirectory() as wheels:
        subprocess.run(
            [
                sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                "--platform", PLATFORM, "--python-version", PYTHON, "--implementation", "cp",
                "-r", str(REQUIREMENTS), "-d", wheels,
            ],
            check=True,
        )
        shutil.rmtree(VENDOR, ignore_errors=True)
        VENDOR.mkdir()
        for wheel in sorted(Path(wheels).glob("*.whl")):
            with zipfile.ZipFile(wheel) as archive:
                archive.extractall(VENDOR)
    MARKER.write_text(wanted)
    return VENDOR


if __name__ == "__main__":
    print(ensure_vendored())
