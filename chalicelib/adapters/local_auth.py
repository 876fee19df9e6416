"""Bearer tokens signed with the local key: what Cognito does in AWS, for the `local` stage only.

`mint_local_jwt` is the one place a local token is made: `make token USER=<id>` (scripts/keys.py),
the tests, and the web client's local sign-in (`POST /local/sign-in`, registered only when
SPACES_STAGE is `local`) all call it. The claims are the ones Cognito puts in an ID token and the
app verifies (chalicelib/adapters/jwt_auth.py): iss, aud, sub, iat, exp, and the key id header.
"""
from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Mapping, Optional, Union

from msgspec import Struct

KeySource = Union[str, Path, bytes]

LOCAL_ISSUER = "spaces-local"
LOCAL_AUDIENCE = "spaces-app"
LOCAL_TOKEN_TTL_SECONDS = 12 * 3600


def _key_bytes(private_key: KeySource) -> bytes:
    if isinstance(private_key, bytes):
        return private_key
    return Path(private_key).read_bytes()


def mint_local_jwt(
    user_id: str,
    private_key_path: KeySource,
    kid: Optional[str],
    issuer: str = LOCAL_ISSUER,
    audience: str = LOCAL_AUDIENCE,
    ttl_seconds: int = LOCAL_TOKEN_TTL_SECONDS,
    now: Optional[float] = None,
    extra_claims: Optional[Mapping[str, Any]] = None,
    algorithm: str = "RS256",
) -> str:
    """A signed bearer token for `user_id`.

    `private_key_path` is a PEM file, or the PEM bytes themselves. A negative `ttl_seconds` gives
    a token that has already expired. `extra_claims` are merged last, so they can also override
    or (with value None) drop a standard claim.
    """
    import jwt

    issued_at = int(time.time() if now is None else now)
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "sub": user_id,
        "iat": issued_at,
        "exp": issued_at + int(ttl_seconds),
    }
    for name, value in (extra_claims or {}).items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    headers = {"kid": kid} if kid else None
    return jwt.encode(claims, _key_bytes(private_key_path), algorithm=algorithm, headers=headers)


class IssuedToken(Struct, frozen=True):
    """A token the local sign-in issued, and when it expires."""

    token: str
    expires_at: datetime


class LocalTokenIssuer:
    """Signs bearer tokens with the local stage's private key; the kid is read from the JWKS the
    app verifies against, so an issued token is always one the app accepts."""

    def __init__(
        self,
        private_key_path: str,
        jwks_path: str,
        *,
        issuer: str,
        audience: str,
        ttl_seconds: int = LOCAL_TOKEN_TTL_SECONDS,
    ):
        self._private_key = _key_bytes(private_key_path)
        self._kid = json.loads(Path(jwks_path).read_text())["keys"][0]["kid"]
        self._issuer = issuer
        # The verifier accepts a comma-separated audience list; a token names the first.
        self._audience = audience.split(",")[0].strip()
        self._ttl = ttl_seconds

    def issue(self, user_id: str, now: datetime) -> IssuedToken:
        token = mint_local_jwt(
            user_id,
            self._private_key,
            self._kid,
            issuer=self._issuer,
            audience=self._audience,
            ttl_seconds=self._ttl,
            now=now.timestamp(),
        )
        return IssuedToken(token=token, expires_at=now + timedelta(seconds=self._ttl))
