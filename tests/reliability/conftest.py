"""The reliability suite runs only when asked for, so the default ``uv run pytest`` stays
fast: ``uv run pytest tests/reliability -m reliability`` (short pass, what CI runs), and
``TENANTRY_RELIABILITY_LONG=1 uv run pytest tests/reliability -m reliability`` (the long
pass: many more fuzzing examples per operation, longer loads)."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "reliability" in (config.getoption("markexpr", "") or ""):
        return
    skip = pytest.mark.skip(reason="reliability suite: run with -m reliability")
    for item in items:
        if item.get_closest_marker("reliability") is not None:
            item.add_marker(skip)
