"""What S3 checks on a SigV4 presigned GET, recomputed here (moto serves presigned URLs without
checking their signature or their expiry, so a test that only fetched would prove little).

`check(url, secret_key, at)` recomputes the signature from the URL's own parts (AWS Signature
Version 4, query-string authentication: canonical request with UNSIGNED-PAYLOAD and the host
header, the credential scope, the HMAC chain) and says whether S3 would accept the URL at time
`at`: the signature must match and `at` must be before X-Amz-Date + X-Amz-Expires.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, quote, urlsplit


@dataclass(frozen=True)
class Presigned:
    host: str
    path: str
    params: dict[str, str]

    @property
    def signed_at(self) -> datetime:
        return datetime.strptime(self.params["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)

    @property
    def expires_in(self) -> int:
        return int(self.params["X-Amz-Expires"])

    @property
    def expires_at(self) -> datetime:
        return self.signed_at + timedelta(seconds=self.expires_in)


def read(url: str) -> Presigned:
    parts = urlsplit(url)
    return Presigned(host=parts.netloc, path=parts.path, params=dict(parse_qsl(parts.query, keep_blank_values=True)))


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def expected_signature(url: str, secret_key: str) -> str:
    signed = read(url)
    params = {k: v for k, v in signed.params.items() if k != "X-Amz-Signature"}
    query = "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(params.items())
    )
    canonical = "\n".join(
        ["GET", quote(signed.path, safe="/-_.~%"), query, f"host:{signed.host}", "", "host", "UNSIGNED-PAYLOAD"]
    )
    _, date, region, service, _ = params["X-Amz-Credential"].split("/")
    scope = f"{date}/{region}/{service}/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", params["X-Amz-Date"], scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = _hmac(_hmac(_hmac(_hmac(f"AWS4{secret_key}".encode(), date), region), service), "aws4_request")
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def check(url: str, secret_key: str, at: datetime) -> bool:
    """Would S3 accept this presigned GET at `at`?"""
    signed = read(url)
    if signed.params.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256":
        return False
    if not hmac.compare_digest(signed.params.get("X-Amz-Signature", ""), expected_signature(url, secret_key)):
        return False
    return signed.signed_at <= at < signed.expires_at
