"""The web client's needs from the app: its configuration, its files, and (local stage only) a
sign-in that stands in for Cognito's hosted UI."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import json

from chalicelib.config import Settings
from chalicelib.domain.commands.people import LocalSignIn
from chalicelib.domain.errors import NotFound

if TYPE_CHECKING:  # annotations only
    from chalicelib.adapters.local_auth import IssuedToken, LocalTokenIssuer
    from chalicelib.adapters.web_assets import StaticFiles
    from chalicelib.port_protocols import Clock

# Seconds between two polls of a room; the room-events long-poll will replace polling.
POLL_INTERVAL_MS = 2000
CONFIG_FILE = "config.json"


def client_config(settings: Settings) -> dict[str, Any]:
    """What the page needs to know about the stage it runs against (served as config.json; in
    AWS stages infra/publish_web.py writes the same shape from the stack's outputs)."""
    real_media = settings.media_backend == "ivs"
    return {
        "stage": settings.stage,
        "api_base_url": "",  # the API is on the page's own origin
        "auth": {
            "mode": "local",
            "sign_in_path": "/local/sign-in",
            "demo_users": list(settings.local_demo_users),
        },
        "media": {"backend": settings.media_backend, "carries_audio": real_media},
        "updates": {"transport": "poll", "interval_ms": POLL_INTERVAL_MS},
    }


def static_asset(files: StaticFiles, settings: Settings, name: str) -> tuple[str, str]:
    """(body, content type) of one of the page's files; config.json is made from the settings."""
    if name == CONFIG_FILE:
        return json.dumps(client_config(settings), indent=2), "application/json"
    found = files.read(name)
    if found is None:
        raise NotFound(f"no web client file named {name!r}", code="file_not_found")
    return found


def local_sign_in(issuer: LocalTokenIssuer | None, clock: Clock, sign_in: LocalSignIn) -> IssuedToken:
    """A bearer token for any user id, as `make token` prints. Only the local stage has an
    issuer (a signing key in SPACES_LOCAL_SIGNIN_KEY_PATH); anywhere else this is 404."""
    if issuer is None:
        raise NotFound("local sign-in is not available on this stage", code="local_sign_in_disabled")
    return issuer.issue(sign_in.user_id, clock.now())
