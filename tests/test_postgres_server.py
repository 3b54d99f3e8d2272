"""The server's own tests of chats, hand-offs to agents and CSAT, run again
with the server storing on PostgreSQL (a real server, a database per test): the same
behaviour from both stores. (Modules whose tests read the SQLite file themselves, or
give the server settings of their own, are not among them.)"""

from __future__ import annotations

import types

import pytest
import test_agents_flow
import test_chat_protocol
import test_csat

pytestmark = pytest.mark.postgres  # the ``settings`` fixture gives a PostgreSQL database


def _tests(*modules: types.ModuleType) -> dict[str, object]:
    """The test functions of the modules, under names of this module's own."""
    found: dict[str, object] = {}
    for module in modules:
        short = module.__name__.removeprefix("test_")
        for name, value in vars(module).items():
            if name.startswith("test_") and callable(value):
                found[f"test_{short}__{name.removeprefix('test_')}"] = value
    return found


globals().update(_tests(test_chat_protocol, test_agents_flow, test_csat))
