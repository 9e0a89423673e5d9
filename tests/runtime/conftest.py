"""Fixtures shared by the runtime tests."""

from __future__ import annotations

import pytest

from graphtorch.runtime.autodiff_exec import set_autodiff
from graphtorch.runtime.cpu_codegen import set_executor


@pytest.fixture
def autodiff_on():
    """Graph autodiff on for every executor for one test; after it, the default setting and
    executor again."""
    set_autodiff(True)
    yield
    set_autodiff(None)
    set_executor(None)


@pytest.fixture(autouse=True)
def _default_executor():
    """Every runtime test starts and ends with the default executor and autodiff setting."""
    set_executor(None)
    set_autodiff(None)
    yield
    set_executor(None)
    set_autodiff(None)
