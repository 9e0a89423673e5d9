"""Golden archives (``*_vMAJOR_MINOR.gt``, written by make_golden.py when that format version was
current): they must load and compute the same outputs forever."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.archive import load

HERE = Path(__file__).resolve().parent
GOLDEN = sorted(HERE.glob("*_v*_*.gt"))


def _version(path: Path) -> str:
    major, minor = path.stem.rsplit("_v", 1)[1].split("_")
    return f"{major}.{minor}"


def test_golden_files_exist():
    assert {p.name for p in GOLDEN} >= {"mlp_traced_v1_0.gt", "cell_scripted_v1_0.gt",
                                        "defaults_scripted_v1_1.gt"}


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.stem)
def test_golden_archive_loads_and_computes(path):
    with zipfile.ZipFile(path) as z:
        assert json.loads(z.read("graphtorch.json"))["format_version"] == _version(path)
    m = load(path)
    ref = np.load(path.with_suffix(".npz"))
    args = [gt.from_numpy(ref[k]) for k in ("x", "h") if k in ref.files]
    out = m(*args).detach().numpy()
    np.testing.assert_allclose(out, ref["output"], rtol=1e-6, atol=1e-7)


def test_golden_attributes_survive():
    m = load(HERE / "mlp_traced_v1_0.gt")
    assert m.note == "golden 1.0"
    assert [n for n, _ in m.named_parameters()] == ["l1.weight", "l1.bias", "l2.weight",
                                                    "l2.bias"]


def test_golden_defaults_are_used():
    """1.1: the recorded output was computed by a call that left k, n and square out."""
    m = load(HERE / "defaults_scripted_v1_1.gt")
    ref = np.load(HERE / "defaults_scripted_v1_1.npz")
    x = gt.from_numpy(ref["x"])
    np.testing.assert_allclose(m(x, 0.5, 2, False).detach().numpy(), ref["output"], rtol=1e-6)
    assert not np.allclose(m(x, 1.0).detach().numpy(), ref["output"])
