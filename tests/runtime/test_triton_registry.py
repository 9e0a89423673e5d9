"""Every lowered elementwise registry op, as a one-op and as a chained FusionGroup, through the
Triton interpreter vs the reference interpreter on its float32 samples (int64 for integer-only
ops), broadcasting and Python-number operands included."""

from __future__ import annotations

import pytest
from test_triton import assert_close, lowered_ops, reference, sample_graph, samples_of

from graphtorch.errors import UnsupportedError
from graphtorch.ops.lowering import NO_DEFAULT, unread_args
from graphtorch.ops.registry import REGISTRY
from graphtorch.runtime.triton import run_fusion_group


def _non_default(name, sample) -> bool:
    """The sample sets an argument the lowering ignores (div's rounding_mode, round's decimals)."""
    op = REGISTRY[name]
    vals = op.binder.bind(sample.args, sample.kwargs)
    return any(d is NO_DEFAULT or vals[i] != d for i, d in unread_args(op).items())


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("GT_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "triton"))


def test_every_lowered_elementwise_op_is_covered():
    names = lowered_ops()
    assert {"add", "tanh", "where", "clamp", "to_dtype", "softplus", "pow"} <= set(names)
    for n in names:
        assert samples_of(n), f"{n} has no float32 or int64 samples"


@pytest.mark.parametrize("chained", [False, True], ids=["one_op", "chained"])
@pytest.mark.parametrize("name", lowered_ops())
def test_op_matches_reference_interpreter(name, chained):
    checked = 0
    for sample in samples_of(name):
        g, inputs = sample_graph(name, sample, chained)
        if _non_default(name, sample):
            with pytest.raises(UnsupportedError, match="is not what its lowering computes"):
                run_fusion_group(g, inputs)
            continue
        want = reference(g, inputs)
        got = run_fusion_group(g, inputs)
        assert len(got) == len(want)
        for a, b in zip(got, want):
            assert_close(a, b)
        checked += 1
    assert checked, f"no sample of {name} ran through Triton"
