"""Scheduled retry of stage deletions that failed when a Space ended."""
from chalice import Blueprint

from chalicelib import bootstrap
from chalicelib.services.spaces import release_pending_media

bp = Blueprint(__name__)


@bp.schedule("rate(5 minutes)", name="release_pending_media")
def release_pending(event):
    released = release_pending_media(bootstrap.deps())
    bootstrap.logger().info("pending stages released", released=released)
    bootstrap.flush_metrics()
    return {"released": released}
