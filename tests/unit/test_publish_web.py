"""The web client's config.json for a deployed stage has the shape the page reads locally."""
from __future__ import annotations

import pytest

from chalicelib.config import Settings
from chalicelib.api.web import client_config
from infra.publish_web import files_to_publish, web_config
from infra.stages import stage

OUTPUTS = {
    "ApiUrl": "https://abc123.execute-api.us-east-1.amazonaws.com/api",
    "HostedUiDomain": "https://spaces-dev-web.auth.us-east-1.amazoncognito.com",
    "WebClientId": "4example",
    "WebUrl": "https://d111111abcdef8.cloudfront.net/",
}


def test_a_deployed_stage_signs_in_with_cognito_and_carries_audio():
    config = web_config(stage("dev"), OUTPUTS)

    assert set(config) == set(client_config(Settings()))
    assert config["api_base_url"] == "https://abc123.execute-api.us-east-1.amazonaws.com/api"
    assert config["auth"] == {
        "mode": "cognito",
        "domain": "https://spaces-dev-web.auth.us-east-1.amazoncognito.com",
        "client_id": "4example",
        "redirect_uri": "https://d111111abcdef8.cloudfront.net/",
    }
    assert config["media"] == {"backend": "ivs", "carries_audio": True}


@pytest.mark.parametrize("present", [(), ("amazon-ivs-web-broadcast.js",), ("amazon-ivs-chat-messaging.js",)])
def test_publishing_without_both_sdk_bundles_says_to_run_make_web(tmp_path, present):
    (tmp_path / "index.html").write_text("<!doctype html>")
    for name in present:
        (tmp_path / name).write_text("x")

    with pytest.raises(SystemExit, match="make web"):
        files_to_publish(tmp_path)


def test_every_page_file_is_published_with_its_content_type(tmp_path):
    for name in ("index.html", "app.js", "style.css", "amazon-ivs-web-broadcast.js", "amazon-ivs-chat-messaging.js", "notes.md"):
        (tmp_path / name).write_text("x")

    published = {path.name: kind for path, kind in files_to_publish(tmp_path)}

    assert published == {
        "index.html": "text/html; charset=utf-8",
        "app.js": "text/javascript; charset=utf-8",
        "style.css": "text/css; charset=utf-8",
        "amazon-ivs-web-broadcast.js": "text/javascript; charset=utf-8",
        "amazon-ivs-chat-messaging.js": "text/javascript; charset=utf-8",
    }
