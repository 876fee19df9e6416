"""The web client in the local stage: its page and files, and a sign-in standing in for Cognito.

Registered by app.py only when SPACES_STAGE is `local` (`serves_web_client()`), which is also what
`chalice package --stage dev|prod` and infra/'s CDK construct see when they import the app, so
AWS stages have none of these routes: there the page comes from S3 behind CloudFront
(infra/web.py) and people sign in with Cognito's hosted UI.
"""
from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from chalice import Blueprint, CORSConfig, Response

from chalicelib import bootstrap
from chalicelib.api.http import command, endpoint
from chalicelib.config import Settings
from chalicelib.domain.errors import NotFound
from chalicelib.domain.spaces import iso
from chalicelib.lazy import bodies, service

if TYPE_CHECKING:  # annotations only
    from chalicelib.adapters.local_auth import IssuedToken
    from chalicelib.adapters.web_assets import StaticFiles

body = bodies("people")
web = service("web")

bp = Blueprint(__name__)

LOCAL_STAGE = "local"
# Seconds between two polls of a room; the room-events long-poll will replace polling.
POLL_INTERVAL_MS = 2000
CONFIG_FILE = "config.json"


def serves_web_client(environ=os.environ) -> bool:
    """Only an explicit local stage: an unset SPACES_STAGE registers nothing."""
    return environ.get("SPACES_STAGE") == LOCAL_STAGE


def cors_for_web_client(environ=os.environ):
    """AWS stages: the page (on CloudFront, infra/web.py) calls the API cross-origin. Bearer
    tokens, no cookies, so any origin may call; SPACES_WEB_ORIGIN narrows it. The local stage
    serves the page from the API's own origin: no CORS there."""
    stage = environ.get("SPACES_STAGE")
    if not stage or stage == LOCAL_STAGE:
        return None
    return CORSConfig(
        allow_origin=environ.get("SPACES_WEB_ORIGIN") or "*",
        allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id"],
        expose_headers=["X-Request-Id", "Retry-After"],
        max_age=600,
    )


@bp.route("/", methods=["GET"])
def index():
    return Response(body="", status_code=302, headers={"Location": "/web/index.html"})


@bp.route("/web/{name}", methods=["GET"])
@endpoint()
def asset(name):
    body, content_type = static_asset(bootstrap.static_files(), bootstrap.settings(), name)
    # Always revalidated: a developer editing the page sees the change on reload.
    return Response(body=body, status_code=200, headers={"Content-Type": content_type, "Cache-Control": "no-cache"})


@bp.route("/local/sign-in", methods=["POST"])
@endpoint()
def local_sign_in():
    request = bp.current_request
    sign_in = command(request, body.local_sign_in, authorize=None)  # the sign-in: nobody is known yet
    issued = web.local_sign_in(bootstrap.local_token_issuer(), bootstrap.deps().clock, sign_in)
    return sign_in_view(sign_in.user_id, issued)


def sign_in_view(user_id: str, issued: IssuedToken) -> dict[str, Any]:
    """The sign-in's answer: what `make token` prints, as the page keeps it."""
    return {"user_id": user_id, "token": issued.token, "token_type": "Bearer", "expires_at": iso(issued.expires_at)}


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
