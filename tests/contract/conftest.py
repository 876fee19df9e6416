"""The contract tests' stack: a whole local stack on free ports (tests/support/local_stack.py)."""
from __future__ import annotations

import pytest

from tests.support.local_stack import EXTRA_USERS, LocalStack, running_local_stack  # noqa: F401


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory):
    """DynamoDB Local, moto, tables, demo users, keys and `chalice local`, all on free ports."""
    with running_local_stack(tmp_path_factory.mktemp("contract-stack")) as stack:
        yield stack
