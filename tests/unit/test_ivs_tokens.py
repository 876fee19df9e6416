"""Self-signed IVS participant tokens: what IVS will verify when someone joins a stage."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import jwt
import pytest

from chalicelib.adapters.ivs_tokens import IvsTokenMinter, generate_es384_keypair
from chalicelib.domain.ids import new_participant_id
from chalicelib.domain.spaces import StageInfo

ROOT = Path(__file__).resolve().parents[2]

KEY_ARN = "arn:aws:ivs:us-east-1:123456789012:public-key/f99cde61-c2b0-4df3-8941-ca7d38acca1a"
STAGE = StageInfo(
    arn="arn:aws:ivs:us-east-1:123456789012:stage/AbCdEfGh1234",
    events_url="wss://global.events.live-video.net",
    whip_url="https://1a2b3c4d5e6f.global-bm.whip.live-video.net",
)
HOUR = 3600
FOURTEEN_DAYS = 14 * 24 * HOUR


@pytest.fixture(scope="module")
def keypair():
    return generate_es384_keypair()


@pytest.fixture
def minter(keypair):
    private_pem, _ = keypair
    return IvsTokenMinter(private_pem, KEY_ARN, ttl_seconds=HOUR)


@pytest.fixture
def now():
    return datetime.now(timezone.utc).replace(microsecond=0)


def mint(minter, now, *, publish=False, participant_id="p-1", user_id="u_alice", attributes=None):
    return minter.mint(
        STAGE,
        participant_id=participant_id,
        user_id=user_id,
        publish=publish,
        now=now,
        attributes=attributes,
    )


def verified_claims(token, public_pem):
    return jwt.decode(token, public_pem, algorithms=["ES384"])


class TestSignature:
    def test_token_verifies_with_the_registered_public_key_as_es384(self, minter, keypair, now):
        token = mint(minter, now).token

        assert verified_claims(token, keypair[1])["jti"] == "p-1"

    def test_token_does_not_verify_with_another_key(self, minter, now):
        _, stranger_public = generate_es384_keypair()
        token = mint(minter, now).token

        with pytest.raises(jwt.InvalidSignatureError):
            verified_claims(token, stranger_public)

    def test_header_names_the_imported_public_key_as_kid(self, minter, now):
        header = jwt.get_unverified_header(mint(minter, now).token)

        assert header == {"alg": "ES384", "typ": "JWT", "kid": KEY_ARN}

    def test_a_key_that_is_not_p384_is_refused(self):
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        p256 = ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

        with pytest.raises(ValueError):
            IvsTokenMinter(p256, KEY_ARN, ttl_seconds=HOUR)

    def test_generated_keypair_is_pkcs8_private_and_spki_public_pem(self, keypair):
        private_pem, public_pem = keypair

        assert private_pem.startswith(b"-----BEGIN PRIVATE KEY-----")
        assert public_pem.startswith(b"-----BEGIN PUBLIC KEY-----")


class TestClaims:
    def test_claims_are_exactly_what_ivs_reads(self, minter, keypair, now):
        token = mint(minter, now, publish=True, participant_id="Qx7_pL2-mN9a")

        claims = verified_claims(token.token, keypair[1])

        iat = int(now.timestamp())
        assert claims == {
            "exp": iat + HOUR,
            "iat": iat,
            "jti": "Qx7_pL2-mN9a",
            "resource": STAGE.arn,
            "topic": "AbCdEfGh1234",
            "events_url": STAGE.events_url,
            "whip_url": STAGE.whip_url,
            "attributes": {"user_id": "u_alice"},
            "capabilities": {"allow_publish": True, "allow_subscribe": True},
            "version": "1.0",
        }

    def test_extra_attributes_travel_with_the_user_id(self, minter, keypair, now):
        token = mint(minter, now, attributes={"role": "speaker", "name": "Alice"})

        attributes = verified_claims(token.token, keypair[1])["attributes"]

        assert attributes == {"role": "speaker", "name": "Alice", "user_id": "u_alice"}

    def test_attributes_cannot_claim_another_user_id(self, minter, now):
        with pytest.raises(ValueError):
            mint(minter, now, attributes={"user_id": "u_mallory"})

    def test_attributes_must_be_strings(self, minter, now):
        with pytest.raises(ValueError):
            mint(minter, now, attributes={"seat": 3})

    def test_naive_time_is_refused(self, minter):
        with pytest.raises(ValueError):
            mint(minter, datetime(2026, 1, 1, 12, 0))


class TestCapabilities:
    def test_listener_token_cannot_publish(self, minter, keypair, now):
        token = mint(minter, now, publish=False)

        assert verified_claims(token.token, keypair[1])["capabilities"]["allow_publish"] is False
        assert token.allow_publish is False

    def test_speaker_token_can_publish(self, minter, keypair, now):
        token = mint(minter, now, publish=True)

        assert verified_claims(token.token, keypair[1])["capabilities"]["allow_publish"] is True
        assert token.allow_publish is True

    @pytest.mark.parametrize("publish", [False, True])
    def test_every_token_can_subscribe(self, minter, keypair, now, publish):
        token = mint(minter, now, publish=publish)

        assert verified_claims(token.token, keypair[1])["capabilities"]["allow_subscribe"] is True
        assert token.allow_subscribe is True


class TestLifetime:
    def test_token_lives_for_the_configured_ttl(self, minter, keypair, now):
        token = mint(minter, now)

        claims = verified_claims(token.token, keypair[1])

        assert claims["exp"] - claims["iat"] == HOUR
        assert token.expires_at == now + timedelta(seconds=HOUR)

    def test_ttl_is_capped_at_14_days(self, keypair, now):
        minter = IvsTokenMinter(keypair[0], KEY_ARN, ttl_seconds=30 * 24 * HOUR)

        token = mint(minter, now)
        claims = verified_claims(token.token, keypair[1])

        assert claims["exp"] - claims["iat"] == FOURTEEN_DAYS
        assert token.expires_at == now + timedelta(days=14)

    def test_an_expired_token_no_longer_verifies(self, minter, keypair, now):
        token = mint(minter, now - timedelta(seconds=HOUR + 5))

        with pytest.raises(jwt.ExpiredSignatureError):
            verified_claims(token.token, keypair[1])


# Serialized size of {"bio": "", "user_id": "u_alice"} as it travels in the token.
EMPTY_BIO_BYTES = len(json.dumps({"bio": "", "user_id": "u_alice"}, separators=(",", ":")))


class TestAttributeSize:
    def test_attributes_one_byte_over_1_kb_are_refused(self, minter, now):
        with pytest.raises(ValueError):
            mint(minter, now, attributes={"bio": "x" * (1024 - EMPTY_BIO_BYTES + 1)})

    def test_attributes_of_exactly_1_kb_are_accepted(self, minter, keypair, now):
        bio = "x" * (1024 - EMPTY_BIO_BYTES)

        token = mint(minter, now, attributes={"bio": bio})

        assert verified_claims(token.token, keypair[1])["attributes"]["bio"] == bio

    def test_size_is_counted_in_utf8_bytes_not_characters(self, minter, now):
        # 600 characters, 1,200 bytes.
        with pytest.raises(ValueError):
            mint(minter, now, attributes={"bio": "é" * 600})


class TestParticipantIds:
    def test_two_mints_carry_the_participant_ids_they_were_given(self, minter, keypair, now):
        first_id, second_id = new_participant_id(), new_participant_id()

        first = mint(minter, now, participant_id=first_id)
        second = mint(minter, now, participant_id=second_id)

        assert first_id != second_id
        assert (first.participant_id, second.participant_id) == (first_id, second_id)
        assert verified_claims(first.token, keypair[1])["jti"] == first_id
        assert verified_claims(second.token, keypair[1])["jti"] == second_id

    def test_new_participant_ids_are_unique_and_valid_for_ivs(self):
        ids = [new_participant_id() for _ in range(2000)]

        assert len(set(ids)) == len(ids)
        assert all(re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", pid) for pid in ids)

    @pytest.mark.parametrize("bad", ["", "has space", "a" * 65, "x/y"])
    def test_a_participant_id_ivs_could_not_disconnect_is_refused(self, minter, now, bad):
        with pytest.raises(ValueError):
            mint(minter, now, participant_id=bad)


def test_importing_the_minter_module_does_not_import_jwt():
    code = (
        "import sys; import chalicelib.adapters.ivs_tokens; "
        "print(sorted(m for m in ('jwt', 'cryptography') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


CHANNEL = "arn:aws:ivs:us-east-1:123456789012:channel/abcdEFGH1234"


def test_a_playback_token_carries_the_channel_a_viewer_id_and_its_expiry(minter, keypair, now):
    from chalicelib.adapters.ivs_tokens import playback_viewer_id

    token, expires_at = minter.mint_playback(CHANNEL, user_id="u_alice", now=now)

    assert jwt.get_unverified_header(token) == {"alg": "ES384", "typ": "JWT"}
    claims = jwt.decode(token, keypair[1], algorithms=["ES384"])
    assert claims == {
        "aws:channel-arn": CHANNEL,
        "aws:viewer-id": playback_viewer_id("u_alice"),
        "exp": int(now.timestamp()) + HOUR,
    }
    assert expires_at == now + timedelta(seconds=HOUR)


def test_viewer_ids_are_stable_distinct_within_ivs_limit_and_not_the_user_id():
    from chalicelib.adapters.ivs_tokens import playback_viewer_id

    long_id = "u" * 64
    ids = {playback_viewer_id(u) for u in ("u_alice", "u_bob", long_id)}
    assert len(ids) == 3
    assert playback_viewer_id("u_alice") == playback_viewer_id("u_alice")
    assert all(1 <= len(v) <= 40 and "alice" not in v for v in ids)


def test_a_playback_token_needs_an_aware_time(minter):
    with pytest.raises(ValueError):
        minter.mint_playback(CHANNEL, user_id="u_alice", now=datetime(2026, 1, 1))
