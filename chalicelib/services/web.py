"""The web client's sign-in in the local stage, standing in for Cognito's hosted UI. (Its page,
files and config.json are served by chalicelib/api/web.py.)"""
from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.domain.commands.people import LocalSignIn
from chalicelib.domain.errors import NotFound

if TYPE_CHECKING:  # annotations only
    from chalicelib.adapters.local_auth import IssuedToken, LocalTokenIssuer
    from chalicelib.port_protocols import Clock


def local_sign_in(issuer: LocalTokenIssuer | None, clock: Clock, sign_in: LocalSignIn) -> IssuedToken:
    """A bearer token for any user id, as `make token` prints. Only the local stage has an
    issuer (a signing key in SPACES_LOCAL_SIGNIN_KEY_PATH); anywhere else this is 404."""
    if issuer is None:
        raise NotFound("local sign-in is not available on this stage", code="local_sign_in_disabled")
    return issuer.issue(sign_in.user_id, clock.now())
