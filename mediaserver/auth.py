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


@dataclass(frozen=True)
class Viewer:
    """The bearer of a playback token of a private (overflow) channel."""

    channel_arn: str
    viewer_id: str
    exp: int


class TokenVerifier:
    def __init__(self, public_key_pem: bytes):
        self._key = load_pem_public_key(public_key_pem)

    def participant(self, authorization: str | None) -> Participant:
        """The bearer of `Authorization: Bearer <token>`, or Refused(401)."""
        if not authorization or not authorization.startswith("Bearer "):
            raise Refused(401, "token_missing", "Authorization: Bearer <participant token> is required")
        token = authorization[len("Bearer "):].strip()
        try:
            claims = self._decode(token, ["exp", "jti", "topic"])
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

    def viewer(self, token: str | None) -> Viewer:
        """The bearer of a playback token (as the API mints it for a private IVS channel: ES384,
        `aws:channel-arn`, `aws:viewer-id`, `exp`, signed with the same key), or Refused(401).
        `exp` is read, not enforced here: IVS lets a playback started before it go on."""
        if not token:
            raise Refused(401, "token_missing", "a playback token (?token=) is required")
        try:
            claims = self._decode(token, ["exp", "aws:channel-arn", "aws:viewer-id"], verify_exp=False)
            exp = int(claims["exp"])
        except (jwt.PyJWTError, TypeError, ValueError) as exc:
            raise Refused(401, "token_invalid", "the playback token is not valid") from exc
        return Viewer(channel_arn=str(claims["aws:channel-arn"]), viewer_id=str(claims["aws:viewer-id"]), exp=exp)

    def _decode(self, token: str, required: list[str], verify_exp: bool = True) -> dict:
        return jwt.decode(
            token, self._key, algorithms=["ES384"], options={"require": required, "verify_exp": verify_exp}
        )
