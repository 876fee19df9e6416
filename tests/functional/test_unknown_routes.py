"""A path no route serves is the contract's 404 `{"code": "not_found", "message"}` locally, with
or without a token, over real HTTP and through chalice's local gateway (chalicelib/api/local_routes.py)."""
from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

import pytest

UNKNOWN = [("GET", "/nope"), ("POST", "/spaces/S1/explode"), ("DELETE", "/users"), ("GET", "/spaces/S1/events/x/y")]


@pytest.mark.parametrize("method, path", UNKNOWN)
@pytest.mark.parametrize("with_token", [False, True], ids=["no-token", "token"])
def test_an_unknown_route_is_a_json_404_through_the_local_gateway(api, new_user, method, path, with_token):
    response = api.call(method, path, new_user() if with_token else None)

    assert response.status_code == 404
    assert response.data["code"] == "not_found" and path in response.data["message"]


@pytest.fixture
def local_server():
    """chalice's own local HTTP server (what `chalice local` runs) on a free loopback port."""
    from chalice.config import Config
    from chalice.local import LocalDevServer

    from app import app

    server = LocalDevServer(app, Config(chalice_stage="local"), "127.0.0.1", 0)
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server.server_address[1]}"
    server.server.shutdown()
    server.server.server_close()


@pytest.mark.parametrize("with_token", [False, True], ids=["no-token", "token"])
def test_an_unknown_route_is_a_json_404_over_http(local_server, with_token):
    headers = {"Authorization": "Bearer whatever"} if with_token else {}
    request = urllib.request.Request(f"{local_server}/no/such/route?x=1", headers=headers, method="GET")

    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(request, timeout=10)

    assert answer.value.code == 404
    assert answer.value.headers["Content-Type"] == "application/json"
    body = json.loads(answer.value.read())
    assert body == {"code": "not_found", "message": "no route serves GET /no/such/route"}
