"""``graphtorch run`` on methods whose arguments or results are not plain tensors: results are
written without pickle (None left out, strings and dicts flattened), arguments the command
line cannot give are one precise line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.archive import save
from tests.cli.test_cli_exit_codes import gtcli, one_line_error


@gt.jit.script
def returns_none(x):
    return None


@gt.jit.script
def returns_text(x):
    return "hello"


@gt.jit.script
def returns_mixed(x):
    return {"b": x + 1.0, "a": x * 2.0}, None, x


@gt.jit.script
def takes_a_list(x, sizes: list[int]):
    return x


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("values")
    fns = {"none": returns_none, "text": returns_text, "mixed": returns_mixed,
           "list": takes_a_list}
    for name, fn in fns.items():
        save(fn, d / f"{name}.gt")
    x = np.arange(3, dtype=np.float32)
    np.savez(d / "x.npz", x=x)
    np.savez(d / "list.npz", x=x, sizes=np.arange(2))
    return {name: d / f"{name}.gt" for name in fns} | {"dir": d}


def _outputs(saved, model: str, tmp_path) -> dict[str, np.ndarray]:
    out = tmp_path / "o.npz"
    proc = gtcli("run", saved[model], "--inputs", saved["dir"] / "x.npz", "-o", out)
    assert proc.returncode == 0, proc.stderr
    with np.load(out, allow_pickle=False) as z:       # readable without pickle
        return {k: z[k] for k in z.files}


def test_none_result_has_no_outputs(saved, tmp_path):
    assert _outputs(saved, "none", tmp_path) == {}


def test_string_result_is_a_0d_string_array(saved, tmp_path):
    got = _outputs(saved, "text", tmp_path)
    assert list(got) == ["output"] and got["output"].item() == "hello"


def test_dict_and_tuple_results_flatten_in_order_leaving_none_out(saved, tmp_path):
    got = _outputs(saved, "mixed", tmp_path)
    x = np.arange(3, dtype=np.float32)
    table, nothing, same = returns_mixed(gt.from_numpy(x))
    assert nothing is None
    assert sorted(got) == ["output0", "output1", "output3"]     # output2 is the None
    np.testing.assert_array_equal(got["output0"], table["a"].numpy())
    np.testing.assert_array_equal(got["output1"], table["b"].numpy())
    np.testing.assert_array_equal(got["output3"], same.numpy())


def test_a_list_argument_is_one_precise_line(saved):
    line = one_line_error(gtcli("run", saved["list"], "--inputs", saved["dir"] / "x.npz"), 1,
                          "run")
    assert "input 'sizes' : int[] needs a value, and values of this type cannot be given from " \
           "the command line" in line
    line = one_line_error(gtcli("run", saved["list"], "--inputs", saved["dir"] / "list.npz"), 1,
                          "run")
    assert "input 'sizes' : int[] cannot be given as an array" in line
