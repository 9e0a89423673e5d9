"""Hand-built hostile archives (hostile.py): each attack ends in one precise FormatError at load,
so nothing of it runs — through the API, any executor, or the CLI."""

from __future__ import annotations

import io

import pytest

import graphtorch as gt
from graphtorch.archive import load
from graphtorch.errors import FormatError

from .hostile import corpus, pack, victim_members

CORPUS = corpus()


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_hostile_archive_is_refused_at_load(name):
    data, fragments = CORPUS[name]
    with pytest.raises(FormatError) as info:
        load(io.BytesIO(data))
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    assert "Error:" not in message.split(": ", 1)[-1][:40], message   # no wrapped crash


def test_the_victim_itself_loads_and_computes_its_graph():
    x = gt.randn(2, 4)
    model = load(io.BytesIO(pack(victim_members())))
    want = (model.lin(x) * 2.0 + model.offset + 1.0).detach().numpy()
    assert abs(model(x).detach().numpy() - want).max() < 1e-6


def test_exec_payload_is_refused_before_any_executor_sees_it(capfd):
    """The original exploit: GetAttr forward.__func__.__globals__, DictIndex __builtins__/exec,
    CallMethod __call__. Refused at load; nothing is printed."""
    data, _ = CORPUS["ir:exec_through_globals"]
    with pytest.raises(FormatError):
        load(io.BytesIO(data))
    assert "gt_hostile_marker" not in capfd.readouterr().out
