"""Fixtures of the adapter tests of services moto does not have (IVS, IVS Chat):
a test module names its service in `AWS_SERVICE` and gets an offline client and a Stubber on it.
And `configure_bootstrap`, for tests of what bootstrap builds from a stage's settings."""
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


@pytest.fixture
def configure_bootstrap(monkeypatch):
    """`configure_bootstrap(SPACES_X=...)`: bootstrap, rebuilt from the test stage's settings
    plus these environment variables; everything is put back afterwards."""
    from chalicelib import bootstrap
    from chalicelib.config import get_settings

    def apply(**env):
        for name, value in {"SPACES_STAGE": "test", **env}.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        bootstrap.reset()
        return bootstrap

    yield apply
    monkeypatch.undo()
    get_settings.cache_clear()
    bootstrap.reset()
