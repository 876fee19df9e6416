"""Bearer-token verification: PyJWT against a JWKS.

AWS stages point `SPACES_JWKS_URL` at the Cognito user pool's JWKS; the local stage points
`SPACES_JWKS_PATH` at the key pair `make run` generates. Either way every request is verified in
the app, so `chalice local` and the tests enforce exactly what Lambda enforces.
"""
from __future__ import annotations

import json
import threading
from typing import Any

from chalicelib.domain.errors import Unauthorized
from chalicelib.domain.users import USER_ID_PATTERN

ALLOWED_ALGORITHMS = ["RS256"]
# OpenID Connect's standard claims a profile is seeded from (Cognito ID tokens carry them when the
# user pool has them).
PROFILE_CLAIMS = ("name", "picture")


class JwtVerifier:
    def __init__(self, *, issuer: str, audience: str, jwks_path: str = "", jwks_url: str = ""):
        if not (jwks_path or jwks_url):
            raise ValueError("a JWKS path or URL is required to verify tokens")
        self._issuer = issuer
        # Comma-separated: each app client of the user pool (mobile, web) is its own audience.
        self._audiences = {a.strip() for a in audience.split(",") if a.strip()}
        self._jwks_path = jwks_path
        self._jwks_url = jwks_url
        self._keys: dict | None = None
        self._url_client: Any = None  # jwt.PyJWKClient, built on first use
        self._lock = threading.Lock()

    def _key_for(self, kid: str | None):
        import jwt

        if self._jwks_url:
            with self._lock:
                if self._url_client is None:
                    self._url_client = jwt.PyJWKClient(self._jwks_url, cache_keys=True, lifespan=3600)
            try:
                return self._url_client.get_signing_key(kid).key
            except jwt.PyJWKClientError as exc:
                raise Unauthorized("the token's signing key is unknown", code="invalid_token") from exc
        with self._lock:
            if self._keys is None:
                with open(self._jwks_path, encoding="utf-8") as fh:
                    jwks = json.load(fh)
                self._keys = {k.get("kid"): jwt.PyJWK(k).key for k in jwks.get("keys", [])}
        key = self._keys.get(kid)
        if key is None:
            raise Unauthorized("the token's signing key is unknown", code="invalid_token")
        return key

    def verify(self, authorization: str | None) -> str:
        """The caller's user id from an `Authorization: Bearer <jwt>` header, or Unauthorized."""
        return self.identify(authorization)[0]

    def identify(self, authorization: str | None) -> tuple[str, dict[str, Any]]:
        """The caller's user id and the token's standard profile claims (`name`, `picture`, as
        sent: GET /me checks them before storing them; docs/people.md), or Unauthorized."""
        import jwt

        if not authorization:
            raise Unauthorized("an Authorization: Bearer token is required", code="missing_token")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("the Authorization header must be 'Bearer <token>'", code="invalid_token")
        token = token.strip()
        try:
            header = jwt.get_unverified_header(token)
            key = self._key_for(header.get("kid"))
            claims = jwt.decode(
                token,
                key=key,
                algorithms=ALLOWED_ALGORITHMS,
                issuer=self._issuer,
                options={"require": ["exp", "iat", "iss", "sub"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("the token has expired", code="token_expired") from exc
        except jwt.InvalidIssuerError as exc:
            raise Unauthorized("the token is from another issuer", code="invalid_token") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized("the token is not valid", code="invalid_token") from exc
        # ID tokens carry `aud`; Cognito access tokens carry `client_id` instead.
        audience = claims.get("aud", claims.get("client_id"))
        audiences = audience if isinstance(audience, list) else [audience]
        if not self._audiences.intersection(audiences):
            raise Unauthorized("the token is for another audience", code="invalid_token")
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject:
            raise Unauthorized("the token names no user", code="invalid_token")
        # The same rule GET /users/{user_id} applies: a subject nobody could look up, follow back
        # or put in a key ("a b", "../x", "alice#x") is not an identity this API serves.
        if not USER_ID_PATTERN.fullmatch(subject):
            raise Unauthorized("the token's subject is not a valid user id", code="invalid_token")
        return subject, {name: claims[name] for name in PROFILE_CLAIMS if name in claims}
