"""Scheduled jobs: retry stage deletions that failed when a Space ended; refresh the live
discovery ranks from the sharded participant counts; stop counting clients that vanished;
delete stages no live Space uses."""
from chalice import Blueprint

from chalicelib import bootstrap
from chalicelib.services.discovery import refresh_live_ranks
from chalicelib.services.spaces import reconcile_stages, release_pending_media
from chalicelib.services.stage import sweep_presence

bp = Blueprint(__name__)


@bp.schedule("rate(5 minutes)", name="release_pending_media")
def release_pending(event):
    released = release_pending_media(bootstrap.deps())
    bootstrap.logger().info("pending stages released", released=released)
    bootstrap.flush_metrics()
    return {"released": released}


@bp.schedule("rate(1 minute)", name="refresh_live_ranks")
def refresh_ranks(event):
    changed = refresh_live_ranks(bootstrap.deps())
    bootstrap.logger().info("live ranks refreshed", changed=changed)
    return {"changed": changed}


@bp.schedule("rate(1 minute)", name="sweep_presence")
def sweep(event):
    deps = bootstrap.deps()
    swept = sweep_presence(deps, deps.spaces.live_space_ids())
    bootstrap.logger().info("presence swept", disconnected=swept)
    bootstrap.flush_metrics()
    return {"disconnected": swept}


@bp.schedule("rate(15 minutes)", name="reconcile_stages")
def reconcile(event):
    deleted = reconcile_stages(bootstrap.deps())
    bootstrap.logger().info("stages reconciled", deleted=deleted)
    bootstrap.flush_metrics()
    return {"deleted": deleted}
