"""Replays land when IVS has finished writing them (asynchronously, after the Space ended), and
their transcriptions are followed to the end: one scheduled job over the sparse
`recording_pending` index. The local worker of `make run` runs the same function."""
from chalice import Blueprint

from chalicelib.jobs.media import _run
from chalicelib.lazy import service

recording = service("recording")

bp = Blueprint(__name__)


@bp.schedule("rate(1 minute)", name="land_recordings")
def land(event):
    return _run(recording.land_recordings, "changed")
