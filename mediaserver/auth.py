"""Checks an IVS participant token (ES384 JWT) as an IVS stage would: signature against the
public key the API's minter is paired with, `exp`, the stage (`topic`) and the capabilities."""
from __future__ import annotations

from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives.serialization import load_pem_public_key


class Refused(Exception):
    """A request the server turns down: HTTP status, a stable code, a sentence for people."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Participant:
    stage_id: str
    participant_id: str
    user_id: str
    allow_publish: bool
    allow_subscribe: bool
    issued_at: int = 0


class TokenVerifier:
    def __init__(self, public_key_pem: bytes):
        self._key = load_pem_public_key(public_key_pem)

    def participant(self, authorization: str | None) -> Participant:
        """The bearer of `Authorization: Bearer <token>`, or Refused(401)."""
        if not authorization or not authorization.startswith("Bearer "):
            raise Refused(401, "token_missing", "Authorization: Bearer <participant token> is required")
        token = authorization[len("Bearer "):].strip()
        try:
            claims = jwt.decode(
                token, self._key, algorithms=["ES384"], options={"require": ["exp", "jti", "topic"]}
            )
        except jwt.ExpiredSignatureError as exc:
            raise Refused(401, "token_expired", "the participant token has expired") from exc
        except jwt.PyJWTError as exc:
            raise Refused(401, "token_invalid", "the participant token is not valid") from exc
        capabilities = claims.get("capabilities") or {}
        attributes = claims.get("attributes") or {}
        return Participant(
            stage_id=str(claims["topic"]),
            participant_id=str(claims["jti"]),
            user_id=str(attributes.get("user_id", "")),
            allow_publish=capabilities.get("allow_publish") is True,
            allow_subscribe=capabilities.get("allow_subscribe") is True,
            issued_at=int(claims.get("iat", 0)),
        )
