"""Fixtures of the adapter tests of services moto does not have (IVS, IVS Chat, MediaConvert):
a test module names its service in `AWS_SERVICE` and gets an offline client and a Stubber on it."""
from __future__ import annotations

import pytest

from tests.support.offline_aws import offline_client, stubbed


@pytest.fixture
def client(request):
    return offline_client(request.module.AWS_SERVICE)


@pytest.fixture
def stubber(client):
    with stubbed(client) as stub:
        yield stub
