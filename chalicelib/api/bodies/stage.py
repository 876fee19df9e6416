"""JSON bodies -> commands: joining, accepting an invitation, inviting a speaker and naming a
co-host. How a parser works: `chalicelib/api/bodies/__init__.py`."""
from __future__ import annotations

from chalicelib.api.bodies import Body, flag
from chalicelib.domain.commands.stage import AcceptInvitation, InviteSpeaker, JoinSpace, NameCohost
from chalicelib.domain.errors import BadRequest
from chalicelib.domain.users import validate_user_id


def recording_consent(body: Body | None) -> bool:
    """`recording_consent` of a join or accept body: absent means no."""
    value = (body or {}).get("recording_consent", False)
    if not isinstance(value, bool):
        raise BadRequest("recording_consent must be true or false", code="invalid_recording_consent")
    return value


def join(body: Body) -> JoinSpace:
    return JoinSpace(recording_consent=recording_consent(body), incognito=flag(body, "incognito"))


def accept_invitation(body: Body) -> AcceptInvitation:
    return AcceptInvitation(recording_consent=recording_consent(body))


def invite_speaker(body: Body) -> InviteSpeaker:
    return InviteSpeaker(user_id=validate_user_id(body.get("user_id")))


def name_cohost(body: Body) -> NameCohost:
    return NameCohost(user_id=validate_user_id(body.get("user_id")))
