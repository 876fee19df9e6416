"""Self-signed IVS real-time participant tokens (TokenMinter), minted in-process.

CreateParticipantToken is capped at 50 TPS per account and cannot be raised, so joins never call
it: the backend signs a JWT with an ES384 (P-384) key whose public half was registered with
ImportPublicKey, and IVS verifies it when the participant joins.

Token: header {alg: ES384, typ: JWT, kid: <public key ARN>}; claims

    exp, iat        seconds since the epoch; exp - iat = ttl, at most 14 days
    jti             the participant id (what DisconnectParticipant takes later)
    resource        the stage ARN
    topic           the stage id (last ARN segment)
    events_url      stage.endpoints.events
    whip_url        stage.endpoints.whip
    attributes      str -> str, visible to every participant, <= 1 KB; always holds user_id
    capabilities    {allow_publish: bool, allow_subscribe: true}
    version         "1.0"

Checked against public sources (AWS docs and code; docs/limits.md lists the claims we rely on):
the claim names above match docs/limits.md and AWS's own self-signing samples
(aws-samples/amazon-ivs-real-time-collaboration-web-demo infra/lambdas/sdk/realTime.ts,
aws-samples/sample-amazon-ivs-real-time-virtual-participant), which sign with
`jwt.sign(payload, key, {algorithm: 'ES384', keyid})`. Differences from docs/limits.md:

- those samples also send an optional top-level `user_id` claim (the IVS "userId", shown to all
  participants). docs/limits.md does not list it; we keep to that list and carry user_id inside
  `attributes` instead.
- docs/limits.md does not constrain jti. IVS participant ids are at most 64 characters of
  [a-zA-Z0-9-_] (ParticipantToken.participantId and DisconnectParticipant.participantId in the
  ivs-realtime API model), so a jti outside that shape could never be disconnected: refused here.
- "1 KB" is the API reference's wording ("maximum length of this field is 1 KB total"); we count
  the UTF-8 bytes of the compact JSON of `attributes`, which is what travels in the token.
- 14 days matches CreateParticipantToken's duration range (1..20160 minutes).
The English user guide's payload table itself ("Step 3: Distribute Participant Tokens") could
not be read in full through the search tool, only its opening; confirm against it before launch.
"""
from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timedelta, timezone

from chalicelib.domain.spaces import StageInfo
from chalicelib.ports import MediaToken

MAX_TTL_SECONDS = 14 * 24 * 3600
MAX_TTL = timedelta(seconds=MAX_TTL_SECONDS)
MAX_ATTRIBUTES_BYTES = 1024
TOKEN_VERSION = "1.0"
PARTICIPANT_ID_PATTERN = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


# Playback tokens of private (authorized) IVS channels: the overflow channels (docs/overflow.md).
# Claims from the IVS Low-Latency user guide, "Generate and Sign IVS Playback Tokens": ES384,
# `aws:channel-arn`, `aws:viewer-id` (at most 40 characters, what StartViewerSessionRevocation
# names), `exp`. Verified by IVS with the playback key pair the stack imports.
VIEWER_ID_LENGTH = 32


def playback_viewer_id(user_id: str) -> str:
    """A user's `aws:viewer-id`: stable (revocation names it later), within IVS's 40 characters
    (user ids may be 64), and not the user id itself (IVS asks for nothing identifying there)."""
    return hashlib.sha256(f"spaces-viewer:{user_id}".encode()).hexdigest()[:VIEWER_ID_LENGTH]


def generate_es384_keypair() -> tuple[bytes, bytes]:
    """(private PEM PKCS8, public PEM SubjectPublicKeyInfo) on P-384, for ImportPublicKey."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP384R1())
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem, public_pem


class IvsTokenMinter:
    """TokenMinter signing IVS participant tokens with one ES384 key (loaded once, here)."""

    def __init__(self, private_key_pem: bytes, public_key_arn: str, ttl_seconds: int):
        # JWT and key loading cost import time; only the container that mints pays it.
        import jwt
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        if not public_key_arn:
            raise ValueError("public_key_arn (the ImportPublicKey ARN) is required as kid")
        key = load_pem_private_key(private_key_pem, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp384r1":
            raise ValueError("IVS participant tokens need an ECDSA P-384 (secp384r1) private key")
        self._jwt = jwt
        self._key = key
        self.public_key_arn = public_key_arn
        self.ttl_seconds = min(int(ttl_seconds), MAX_TTL_SECONDS)

    def mint(
        self,
        stage: StageInfo,
        *,
        participant_id: str,
        user_id: str,
        publish: bool,
        now: datetime,
        attributes: dict | None = None,
    ) -> MediaToken:
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        if not PARTICIPANT_ID_PATTERN.match(participant_id):
            raise ValueError(
                f"participant id {participant_id!r} must be 1-64 characters of [a-zA-Z0-9-_]"
            )
        attrs = _attributes(attributes, user_id)
        iat = int(now.timestamp())
        exp = iat + self.ttl_seconds
        claims = {
            "exp": exp,
            "iat": iat,
            "jti": participant_id,
            "resource": stage.arn,
            "topic": stage.stage_id,
            "events_url": stage.events_url,
            "whip_url": stage.whip_url,
            "attributes": attrs,
            "capabilities": {"allow_publish": bool(publish), "allow_subscribe": True},
            "version": TOKEN_VERSION,
        }
        token = self._jwt.encode(
            claims, self._key, algorithm="ES384", headers={"kid": self.public_key_arn}
        )
        return MediaToken(
            token=token,
            participant_id=participant_id,
            expires_at=datetime.fromtimestamp(exp, tz=timezone.utc),
            allow_publish=bool(publish),
            allow_subscribe=True,
        )


    def mint_playback(self, channel_arn: str, *, user_id: str, now: datetime) -> tuple[str, datetime]:
        """A playback token for a private channel: (token, expires_at). Playback must start
        before `exp`; a moderator's removal revokes the viewer's sessions (StartViewerSessionRevocation)."""
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        exp = int(now.timestamp()) + self.ttl_seconds
        claims = {"aws:channel-arn": channel_arn, "aws:viewer-id": playback_viewer_id(user_id), "exp": exp}
        token = self._jwt.encode(claims, self._key, algorithm="ES384")
        return token, datetime.fromtimestamp(exp, tz=timezone.utc)


def _attributes(extra: dict | None, user_id: str) -> dict[str, str]:
    attrs = dict(extra or {})
    for k, v in attrs.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise ValueError("token attributes must map strings to strings")
    if attrs.get("user_id", user_id) != user_id:
        raise ValueError("attributes['user_id'] must be the token's user_id")
    attrs["user_id"] = user_id
    size = len(json.dumps(attrs, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    if size > MAX_ATTRIBUTES_BYTES:
        raise ValueError(
            f"token attributes are {size} bytes; IVS allows {MAX_ATTRIBUTES_BYTES} (1 KB)"
        )
    return attrs
