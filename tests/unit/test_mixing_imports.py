"""PyAV (FFmpeg) and numpy are in the Lambda package for the mixing job only: no request path, and
no other job, loads them. A fresh process imports the app, builds its dependencies, loads the
recording service (what every replay and clip route runs) and the mixer adapter without calling
it, and must not have loaded either."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_app_and_the_recording_service_start_without_pyav_or_numpy():
    code = (
        "import sys; import app, chalicelib.bootstrap as b; "
        "import chalicelib.services.recording, chalicelib.api.recording, chalicelib.adapters.audio_mix; "
        "b.mixer(); "
        "print(sorted(m for m in ('av', 'numpy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stderr[-2000:]
