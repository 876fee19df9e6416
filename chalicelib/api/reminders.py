"""Reminders for scheduled Spaces, and the devices pushes go to."""
from chalice import Blueprint

from chalicelib import bootstrap
from chalicelib.api.http import command, current_user_id, endpoint
from chalicelib.domain.spaces import validate_space_id
from chalicelib.lazy import bodies, service

body = bodies()
reminders = service("reminders")

bp = Blueprint(__name__)


@bp.route("/spaces/{space_id}/reminders", methods=["POST"])
@endpoint()
def set_reminder(space_id):
    user_id = current_user_id(bp.current_request)
    return reminders.set_reminder(bootstrap.deps(), user_id, validate_space_id(space_id))


@bp.route("/spaces/{space_id}/reminders", methods=["DELETE"])
@endpoint()
def clear_reminder(space_id):
    user_id = current_user_id(bp.current_request)
    return reminders.clear_reminder(bootstrap.deps(), user_id, validate_space_id(space_id))


@bp.route("/me/devices", methods=["POST"])
@endpoint(status=201)
def register_device():
    request = bp.current_request
    device = command(request, body.device, authorize=None)  # one's own devices: nobody to refuse first
    return reminders.register_device(bootstrap.deps(), current_user_id(request), device)


@bp.route("/me/devices/{device_id}", methods=["DELETE"])
@endpoint()
def remove_device(device_id):
    user_id = current_user_id(bp.current_request)
    return reminders.remove_device(bootstrap.deps(), user_id, device_id)
