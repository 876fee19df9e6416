"""Local key material and bearer tokens for the `local` stage and the tests.

In AWS, bearer tokens come from the Cognito user pool and the app verifies them against the pool's
JWKS. Locally there is no user pool: this module makes an RSA key pair whose public half is
published as `.local/jwks.json` (the file `SPACES_JWKS_PATH` points at) and mints tokens with the
private half, with the same claims Cognito would give (iss, aud, sub, iat, exp, kid header).
It also makes the ECDSA P-384 pair the local media adapter signs IVS participant tokens with.

The generating and minting functions are pure (no files, no clock unless asked) so tests can build
any token they need: expired (`ttl_seconds` < 0), forged (a key from `generate_rsa_jwks()` that is
not the published one), or from another issuer or audience.

    python -m scripts.keys token alice     # prints a token for user "alice" as the last line
    python -m scripts.keys ensure          # creates the keys in .local/ if missing, prints paths
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Optional, Union

# Minting lives in the app (the local stage's sign-in route uses it too); re-exported here for
# `make token`, the demo and the tests.
from chalicelib.adapters.local_auth import (  # noqa: F401
    LOCAL_AUDIENCE,
    LOCAL_ISSUER,
    LOCAL_TOKEN_TTL_SECONDS,
    mint_local_jwt,
)

ROOT = Path(__file__).resolve().parent.parent
LOCAL_DIR = ROOT / ".local"

JWT_PRIVATE_KEY = "jwt_private.pem"
JWKS = "jwks.json"
IVS_PRIVATE_KEY = "ivs_private.pem"
IVS_PUBLIC_KEY = "ivs_public.pem"
CURSOR_KEYS = "cursor_keys.json"

KeySource = Union[str, "os.PathLike[str]", bytes]


# --- pure functions -------------------------------------------------------------------------


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8 or 1, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def rsa_public_jwk(public_key: Any, kid: Optional[str] = None) -> dict:
    """The JWK of an RSA public key; kid defaults to its RFC 7638 thumbprint."""
    numbers = public_key.public_numbers()
    jwk = {"kty": "RSA", "n": _b64url_uint(numbers.n), "e": _b64url_uint(numbers.e)}
    if kid is None:
        canonical = json.dumps(
            {"e": jwk["e"], "kty": "RSA", "n": jwk["n"]}, separators=(",", ":"), sort_keys=True
        )
        kid = (
            base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest())
            .rstrip(b"=")
            .decode("ascii")
        )
    return {**jwk, "kid": kid, "alg": "RS256", "use": "sig"}


def generate_rsa_jwks(kid: Optional[str] = None, key_size: int = 2048) -> tuple[bytes, dict]:
    """A new RSA key pair: (private key as PKCS8 PEM, JWKS with the public key).

    Give `kid` to impersonate an existing key id (a forged token that names the real kid).
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private_key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return pem, {"keys": [rsa_public_jwk(private_key.public_key(), kid)]}


def generate_ivs_keypair() -> tuple[bytes, bytes]:
    """A new ECDSA P-384 pair for IVS participant tokens: (private PKCS8 PEM, public PEM)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    private_key = ec.generate_private_key(ec.SECP384R1())
    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem, public_pem


def generate_cursor_keys() -> dict:
    """The page cursors' HMAC keys, newest first: `{"keys": ["<32 random bytes as hex>"]}` (each
    string is a key, used as its UTF-8 bytes). To rotate,
    put a new key first and keep the old one listed until cursors signed with it have aged out."""
    return {"keys": [os.urandom(32).hex()]}


# --- files in .local/ -----------------------------------------------------------------------


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _lock(directory: Path):
    """An exclusive lock on the key directory: parallel test workers must not race to create."""
    import contextlib

    @contextlib.contextmanager
    def held():
        try:
            import fcntl
        except ImportError:  # not POSIX: no parallel workers to guard against
            yield
            return
        with open(directory / ".keys.lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    return held()


def key_paths(directory: Union[str, "os.PathLike[str]"] = LOCAL_DIR) -> dict[str, Path]:
    directory = Path(directory)
    return {
        "jwt_private": directory / JWT_PRIVATE_KEY,
        "jwks": directory / JWKS,
        "ivs_private": directory / IVS_PRIVATE_KEY,
        "ivs_public": directory / IVS_PUBLIC_KEY,
        "cursor_keys": directory / CURSOR_KEYS,
    }


def ensure_local_keys(directory: Union[str, "os.PathLike[str]"] = LOCAL_DIR) -> dict[str, Path]:
    """Create the local key files that are missing; keep the ones that exist.

    Returns {"jwt_private", "jwks", "ivs_private", "ivs_public", "cursor_keys"} → Path. Tokens minted earlier stay
    valid because existing keys are never replaced.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = key_paths(directory)
    with _lock(directory):
        if not (paths["jwt_private"].exists() and paths["jwks"].exists()):
            private_pem, jwks = generate_rsa_jwks()
            _write_atomic(paths["jwt_private"], private_pem, 0o600)
            _write_atomic(paths["jwks"], (json.dumps(jwks, indent=2) + "\n").encode(), 0o644)
        if not (paths["ivs_private"].exists() and paths["ivs_public"].exists()):
            private_pem, public_pem = generate_ivs_keypair()
            _write_atomic(paths["ivs_private"], private_pem, 0o600)
            _write_atomic(paths["ivs_public"], public_pem, 0o644)
        if not paths["cursor_keys"].exists():
            _write_atomic(paths["cursor_keys"], (json.dumps(generate_cursor_keys()) + "\n").encode(), 0o600)
    return paths


def jwks_kid(jwks_path: Union[str, "os.PathLike[str]"]) -> str:
    """The kid of the first (only) key in a JWKS file."""
    return json.loads(Path(jwks_path).read_text())["keys"][0]["kid"]


def local_stage_environment(root: Path = ROOT) -> dict[str, str]:
    """The `local` stage's environment_variables from .chalice/config.json ({} when absent)."""
    try:
        config = json.loads((root / ".chalice" / "config.json").read_text())
    except (OSError, ValueError):
        return {}
    return dict(config.get("stages", {}).get("local", {}).get("environment_variables", {}))


def mint_token_for(
    user_id: str,
    directory: Union[str, "os.PathLike[str]"] = LOCAL_DIR,
    ttl_seconds: int = LOCAL_TOKEN_TTL_SECONDS,
) -> str:
    """A token the local stack accepts: keys made if missing, issuer/audience from the stage."""
    paths = ensure_local_keys(directory)
    env = local_stage_environment()
    return mint_local_jwt(
        user_id,
        paths["jwt_private"],
        kid=jwks_kid(paths["jwks"]),
        issuer=env.get("SPACES_JWT_ISSUER") or LOCAL_ISSUER,
        audience=env.get("SPACES_JWT_AUDIENCE") or LOCAL_AUDIENCE,
        ttl_seconds=ttl_seconds,
    )


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.keys", description=__doc__.split("\n")[0])
    parser.add_argument("--dir", default=str(LOCAL_DIR), help="key directory (default .local/)")
    commands = parser.add_subparsers(dest="command", required=True)
    token = commands.add_parser("token", help="print a bearer token for a user id (last line)")
    token.add_argument("user_id")
    token.add_argument("--ttl", type=int, default=LOCAL_TOKEN_TTL_SECONDS, help="seconds")
    commands.add_parser("ensure", help="create missing keys and print their paths")
    args = parser.parse_args(argv)

    if args.command == "ensure":
        for name, path in ensure_local_keys(args.dir).items():
            print(f"{name}: {path}")
        return 0
    user_id = args.user_id.strip()
    if not user_id:
        parser.error("user id must not be empty")
    print(f"# bearer token for user {user_id!r}, valid {args.ttl} s", file=sys.stderr)
    print(mint_token_for(user_id, args.dir, args.ttl))
    return 0


if __name__ == "__main__":
    sys.exit(main())
