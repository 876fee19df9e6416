"""Reminders for scheduled Spaces, and the devices pushes go to: the routes and their answers."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint

from chalicelib import bootstrap
from chalicelib.api.http import command, current_user_id, endpoint
from chalicelib.domain.spaces import validate_space_id
from chalicelib.lazy import bodies, service

if TYPE_CHECKING:  # the answers' types only: a cold start does not load the reminders domain
    from chalicelib.domain.reminders import RegisteredDevice, ReminderChange

body = bodies("people")
reminders = service("reminders")

bp = Blueprint(__name__)


@bp.route("/spaces/{space_id}/reminders", methods=["POST"])
@endpoint()
def set_reminder(space_id):
    user_id = current_user_id(bp.current_request)
    return reminder_view(reminders.set_reminder(bootstrap.deps(), user_id, validate_space_id(space_id)))


@bp.route("/spaces/{space_id}/reminders", methods=["DELETE"])
@endpoint()
def clear_reminder(space_id):
    user_id = current_user_id(bp.current_request)
    return reminder_view(reminders.clear_reminder(bootstrap.deps(), user_id, validate_space_id(space_id)))


@bp.route("/me/devices", methods=["POST"])
@endpoint(status=201)
def register_device():
    request = bp.current_request
    device = command(request, body.device, authorize=None)  # one's own devices: nobody to refuse first
    return device_view(reminders.register_device(bootstrap.deps(), current_user_id(request), device))


@bp.route("/me/devices/{device_id}", methods=["DELETE"])
@endpoint()
def remove_device(device_id):
    user_id = current_user_id(bp.current_request)
    reminders.remove_device(bootstrap.deps(), user_id, device_id)
    return removed_device_view(device_id)


def reminder_view(change: ReminderChange) -> dict[str, Any]:
    return {
        "space_id": change.space_id,
        "reminder_set": change.is_set,
        "changed": change.changed,
        "subscriber_count": change.subscriber_count,
    }


def device_view(device: RegisteredDevice) -> dict[str, Any]:
    return {"device_id": device.device_id, "platform": device.platform, "user_id": device.user_id}


def removed_device_view(device_id: str) -> dict[str, Any]:
    return {"device_id": device_id, "removed": True}
