"""The web client's routes in the local stage: its page and files, config.json, and the local
sign-in; and that AWS stages register none of them."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WEB_ROUTES = {("GET", "/"), ("GET", "/web/{name}"), ("POST", "/local/sign-in")}


def fetch(api, path):
    """A plain GET, no token, body left as bytes (the files are not JSON)."""
    return api._client.http.request("GET", path, headers={})


def test_the_root_redirects_to_the_page(api):
    response = fetch(api, "/")

    assert response.status_code == 302
    assert response.headers["Location"] == "/web/index.html"


@pytest.mark.parametrize(
    "name, content_type",
    [
        ("index.html", "text/html; charset=utf-8"),
        ("app.js", "text/javascript; charset=utf-8"),
        ("updates.js", "text/javascript; charset=utf-8"),
        ("style.css", "text/css; charset=utf-8"),
    ],
)
def test_the_page_and_its_modules_are_served_with_their_content_types_and_no_token(api, name, content_type):
    response = fetch(api, f"/web/{name}")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == content_type
    assert response.body.decode() == (ROOT / "web" / "static" / name).read_text()


def test_the_page_loads_nothing_from_another_origin():
    """Every URL in the page's own files is relative (the SDK and hls.js bundles are put next to them)."""
    bundles = ("amazon-ivs-web-broadcast.js", "amazon-ivs-chat-messaging.js", "hls.min.js")
    for path in (ROOT / "web" / "static").iterdir():
        if path.suffix in (".html", ".js", ".css") and path.name not in bundles:
            text = path.read_text()
            # A scheme alone is not a load: the pinned post's form checks links start "https://".
            assert not re.search(r"https?://[A-Za-z0-9\[]", text) and "//cdn" not in text, path.name


@pytest.mark.parametrize("name", ["app.py", "..%2Fapp.py", ".gitignore", "nothing.js", "index.HTML.py"])
def test_anything_but_a_served_file_is_404(api, name):
    response = api.get(f"/web/{name}")

    assert response.status_code == 404
    assert response.data["code"] == "file_not_found"


def test_config_json_tells_the_page_the_stage_has_local_sign_in_and_no_real_audio(api, settings_env):
    response = fetch(api, "/web/config.json")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    config = json.loads(response.body)
    assert config["auth"] == {"mode": "local", "sign_in_path": "/local/sign-in", "demo_users": []}
    assert config["media"] == {"backend": "local", "carries_audio": False}
    assert config["updates"]["transport"] == "poll"
    assert config["api_base_url"] == ""


def test_local_sign_in_gives_a_token_the_api_accepts(api):
    signed_in = api.post("/local/sign-in", body={"user_id": "web-visitor"})

    assert signed_in.status_code == 200
    assert signed_in.data["user_id"] == "web-visitor"
    assert signed_in.data["token_type"] == "Bearer"
    expires = datetime.strptime(signed_in.data["expires_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert expires > datetime.now(timezone.utc)
    profile = api.get("/users/web-visitor", headers={"Authorization": f"Bearer {signed_in.data['token']}"})
    assert profile.status_code == 200


@pytest.mark.parametrize("body", [{}, {"user_id": ""}, {"user_id": "no spaces allowed"}, {"user_id": 7}])
def test_local_sign_in_refuses_a_malformed_user_id(api, body):
    response = api.post("/local/sign-in", body=body)

    assert response.status_code == 400
    assert response.data["code"] in ("invalid_user_id", "body_required")


def test_without_a_local_signing_key_sign_in_is_404(api, settings_env):
    from chalicelib import bootstrap

    bootstrap.override(local_token_issuer=bootstrap.NONE)

    response = api.post("/local/sign-in", body={"user_id": "web-visitor"})

    assert response.status_code == 404
    assert response.data["code"] == "local_sign_in_disabled"


def test_a_removed_listener_sees_it_in_the_participants_view(api, host, new_user):
    listener = new_user("listener")
    space_id = api.post("/spaces", host, {"title": "Removal"}).data["id"]
    api.post(f"/spaces/{space_id}/join", host)
    api.post(f"/spaces/{space_id}/join", listener)
    api.post(f"/spaces/{space_id}/speaker-requests", listener)
    before = api.get(f"/spaces/{space_id}/participants", listener).data["me"]

    api.post(f"/spaces/{space_id}/participants/{listener}/remove", host)

    after = api.get(f"/spaces/{space_id}/participants", listener).data["me"]
    assert before == {"user_id": listener, "role": "listener", "connected": True, "removed": False,
                      "hand_raised": True, "invited": False, "incognito": False}
    assert after["removed"] is True and after["connected"] is False


def _app_in_stage(stage: str | None) -> dict:
    """The routes app.py registers with SPACES_STAGE=`stage` (imported in a fresh interpreter):
    {(method, path): the CORS allow-origin, or None}."""
    env = {k: v for k, v in os.environ.items() if k != "SPACES_STAGE"}
    if stage is not None:
        env["SPACES_STAGE"] = stage
    code = (
        "import json; from app import app; print(json.dumps([[m, p, e.cors and e.cors.allow_origin]"
        " for p, ms in app.routes.items() for m, e in ms.items()]))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return {(m, p): cors for m, p, cors in json.loads(result.stdout.strip().splitlines()[-1])}


def _routes_in_stage(stage: str | None) -> set[tuple[str, str]]:
    return set(_app_in_stage(stage))


@pytest.mark.parametrize("stage", ["dev", "prod", None])
def test_aws_stages_and_an_unset_stage_register_no_web_client_route(stage):
    routes = _routes_in_stage(stage)

    assert ("GET", "/spaces/{space_id}") in routes
    assert not routes & WEB_ROUTES


def test_the_local_stage_registers_the_web_client_routes():
    assert WEB_ROUTES <= _routes_in_stage("local")


def test_aws_stages_let_the_page_on_cloudfront_call_the_api_and_the_local_stage_needs_no_cors():
    deployed, local = _app_in_stage("dev"), _app_in_stage("local")

    assert set(deployed.values()) == {"*"}
    assert set(local.values()) == {None}
