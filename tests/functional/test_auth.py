"""Every route but /health needs a valid bearer token; anything else is 401 with a clear code."""
import time

import pytest


def test_health_needs_no_token(api):
    response = api.get("/health")
    assert response.status_code == 200 and response.data == {"status": "ok"}


def test_a_valid_token_is_accepted(api, new_user):
    user = new_user()
    response = api.get(f"/users/{user}", user)
    assert response.status_code == 200 and response.data["id"] == user


def _forged(user):
    from scripts.keys import generate_rsa_jwks, mint_local_jwt

    other_private, other_jwks = generate_rsa_jwks(kid="attacker")
    return mint_local_jwt(user, other_private, "attacker")


def _forged_with_our_kid(api, user):
    from scripts.keys import generate_rsa_jwks, mint_local_jwt

    other_private, _ = generate_rsa_jwks()
    return mint_local_jwt(user, other_private, api._keys["kid"])


@pytest.mark.parametrize(
    "make_header, code",
    [
        (lambda api, u: None, "missing_token"),
        (lambda api, u: "Bearer", "invalid_token"),
        (lambda api, u: "Basic dXNlcjpwYXNz", "invalid_token"),
        (lambda api, u: "Bearer not.a.jwt", "invalid_token"),
        (lambda api, u: "Bearer " + _forged(u), "invalid_token"),
        (lambda api, u: "Bearer " + _forged_with_our_kid(api, u), "invalid_token"),
        (lambda api, u: "Bearer " + api.token(u, ttl_seconds=-60), "token_expired"),
        (lambda api, u: "Bearer " + api.token(u, issuer="https://evil.example"), "invalid_token"),
        (lambda api, u: "Bearer " + api.token(u, audience="another-app"), "invalid_token"),
        (lambda api, u: "Bearer " + api.token(u, extra_claims={"sub": None}), "invalid_token"),
        (lambda api, u: "Bearer " + api.token(u, extra_claims={"exp": None}), "invalid_token"),
    ],
    ids=["missing", "empty-bearer", "basic", "malformed", "forged", "forged-our-kid", "expired",
         "wrong-issuer", "wrong-audience", "no-subject", "no-expiry"],
)
def test_bad_tokens_are_401_and_change_nothing(api, deps, host, make_header, code):
    header = make_header(api, host)
    headers = {"Authorization": header} if header else {}

    response = api.call("POST", "/spaces", None, {"title": "sneaky"}, headers=headers)

    assert response.status_code == 401
    assert response.data["code"] == code
    assert deps.media.stages == {}


@pytest.mark.parametrize(
    "subject", ["a b", "../x", "x" * 300, "ali\x00ce", "alice#x", "", "al/ice"],
    ids=["space", "dot-dot-slash", "300-chars", "nul", "hash", "empty", "slash"],
)
def test_a_token_whose_subject_is_no_valid_user_id_is_401(api, deps, subject):
    """GET /users/{id} refuses these ids; a token naming one is no identity either."""
    token = api.token("placeholder", extra_claims={"sub": subject})

    follow = api.call("POST", "/users/bob/follow", None, headers={"Authorization": f"Bearer {token}"})
    device = api.call(
        "POST", "/me/devices", None, {"platform": "ios", "token": "a" * 64}, headers={"Authorization": f"Bearer {token}"}
    )

    assert (follow.status_code, follow.data["code"]) == (401, "invalid_token")
    assert (device.status_code, device.data["code"]) == (401, "invalid_token")


def test_an_hs256_token_signed_with_the_public_key_is_refused(api, host):
    """The classic algorithm-confusion attack: only RS256 is accepted."""
    import base64
    import hashlib
    import hmac
    import json

    def b64(data):
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "kid": api._keys["kid"]}).encode())
    now = int(time.time())
    payload = b64(json.dumps({"sub": host, "iss": "spaces-local", "aud": "spaces-app", "iat": now, "exp": now + 60}).encode())
    secret = api._keys["paths"]["jwks"].read_bytes()
    signature = b64(hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest())

    response = api.call("GET", f"/users/{host}", None, headers={"Authorization": f"Bearer {header}.{payload}.{signature}"})

    assert response.status_code == 401


def test_every_response_carries_a_request_id(api, new_user):
    response = api.get("/users/someone", new_user(), headers={"X-Request-Id": "abc-123"})
    assert response.headers["X-Request-Id"] == "abc-123"
    assert api.get("/users/someone").headers["X-Request-Id"]
