"""Mobile push in memory (PushPort), with what the SNS adapter (adapters/sns_push.py) promises:
the same token gives the same endpoint, another token another one; registering a token again
revives its disabled endpoint; publishing to an endpoint that was deleted or disabled raises
EndpointGone; deleting one twice is fine; an unknown platform is a bug (ValueError).
tests/integration/test_outside_ports_contract.py runs the same tests on this and on SnsPush
over moto.
"""
from __future__ import annotations

import hashlib

from chalicelib.domain.reminders import PushMessage
from chalicelib.ports import EndpointGone

PLATFORMS = ("ios", "android")


class FakePush:
    """`sent`: (endpoint, title) per push; `deleted`: endpoints deleted; `gone`: endpoints the
    push service disabled (a test adds to it, as APNs/FCM would after an uninstall)."""

    def __init__(self) -> None:
        self.endpoints: dict[str, str] = {}  # endpoint arn -> token
        self.sent: list[tuple[str, str]] = []
        self.deleted: list[str] = []
        self.gone: set[str] = set()

    def create_endpoint(self, platform: str, token: str, user_id: str) -> str:
        _check(platform)
        digest = hashlib.sha256(f"{platform}:{token}".encode()).hexdigest()[:32]
        arn = f"arn:aws:sns:us-east-1:123456789012:endpoint/{'APNS' if platform == 'ios' else 'GCM'}/spaces/{digest}"
        self.endpoints[arn] = token
        self.gone.discard(arn)
        return arn

    def delete_endpoint(self, endpoint_arn: str) -> None:
        self.deleted.append(endpoint_arn)
        self.endpoints.pop(endpoint_arn, None)

    def publish(self, endpoint_arn: str, platform: str, message: PushMessage) -> None:
        _check(platform)
        if endpoint_arn not in self.endpoints or endpoint_arn in self.gone:
            raise EndpointGone(endpoint_arn)
        self.sent.append((endpoint_arn, message.title))


def _check(platform: str) -> None:
    if platform not in PLATFORMS:
        raise ValueError(f"no push platform application for platform {platform!r}")
