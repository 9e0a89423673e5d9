"""``graphtorch run MODEL --compare``: the compiled plan against the reference interpreter."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import graphtorch as gt
from graphtorch import nn
from graphtorch.archive import save
from graphtorch.cli import app
from graphtorch.cli.run_compare import compare_arrays
from graphtorch.jit import set_executor
from graphtorch.runtime.plan import ExecutionPlan, tolerance
from tests.cli.test_cli_exit_codes import gtcli, one_line_error


class Head(nn.Module):
    """An elementwise chain, a row reduction, a loop over a value from outside it, an int."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(16, 8)

    def forward(self, x: gt.Tensor):
        h = gt.sin(gt.exp(x * 0.5 + 1.0)) * 0.5 + x
        w = self.lin(h)
        y = w
        for _ in range(3):
            y = gt.tanh(w + y)
        return gt.softmax(y, -1), y.sum(-1), y.argmax(-1)


@pytest.fixture(scope="module")
def head_path(tmp_path_factory) -> Path:
    gt.manual_seed(0)
    path = tmp_path_factory.mktemp("models") / "head.gt"
    save(gt.jit.script(Head()), path)
    return path


@pytest.fixture(autouse=True)
def _default_executor():
    set_executor(None)
    yield
    set_executor(None)


def test_compare_runs_both_ways_and_reports_the_difference(head_path, tmp_path):
    proc = gtcli("run", head_path, "--shape", "x:6x16", "--seed", "4", "--compare", "--json",
                 "-o", tmp_path / "out.npz")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["compare_with"] == "interpreter" and doc["executor"] == "compiled"
    assert doc["plan"].startswith("plan: compiled"), doc["plan"]
    rows = {r["name"]: r for r in doc["compare"]}
    assert sorted(rows) == ["output0", "output1", "output2"]
    assert all(r["ok"] for r in rows.values())
    assert (rows["output0"]["rtol"], rows["output0"]["atol"]) == tolerance(np.float32)
    assert (rows["output2"]["rtol"], rows["output2"]["atol"]) == (0.0, 0.0)   # int64: exact
    # the reported differences are the real ones: the written (compiled) outputs against the
    # interpreter's, computed here
    gt.manual_seed(0)
    model = gt.jit.script(Head())
    with np.load(tmp_path / "out.npz") as z:
        got = {k: z[k] for k in z.files}
    x = np.random.default_rng(4).standard_normal((6, 16)).astype(np.float32)
    set_executor("interpreter")
    with gt.no_grad():
        want = [t.numpy() for t in model(gt.from_numpy(x))]
    for i, w in enumerate(want):
        g = got[f"output{i}"]
        assert g.dtype == w.dtype and g.shape == w.shape
        diff = np.abs(g.astype(np.float64) - w.astype(np.float64)).max()
        assert diff == rows[f"output{i}"]["max_abs_error"]
    np.testing.assert_array_equal(got["output2"], want[2])


def test_compare_text_report_names_plan_and_tolerance(head_path):
    out = gtcli("run", head_path, "--shape", "x:3x16", "--compare", "--rtol", "1e-4",
                "--atol", "1e-5").stdout
    assert "compared: compiled vs the interpreter" in out
    assert "plan: compiled" in out
    assert out.count("compare output") == 3 and "MISMATCH" not in out
    assert "rtol 0.0001, atol 1e-05" in out


def test_compare_beyond_tolerance_exits_1_with_one_line(head_path, monkeypatch, capsys):
    # a plan whose code returns a wrong value (a compiler bug) is what --compare must catch
    real = ExecutionPlan.run

    def shift(o):
        if isinstance(o, (tuple, list)):
            return type(o)(shift(x) for x in o)
        return gt.from_numpy(o.numpy() + np.float32(1e-3)) if o.dtype == gt.float32 else o

    def off_by_a_little(self, inputs):
        out = real(self, inputs)
        return shift(out) if self.mode == "compiled" else out

    monkeypatch.setattr(ExecutionPlan, "run", off_by_a_little)
    code = app.main(["run", str(head_path), "--shape", "x:3x16", "--compare"])
    captured = capsys.readouterr()
    assert code == 1
    assert "MISMATCH" in captured.out
    assert captured.err.count("\n") == 1, captured.err
    assert captured.err.startswith("graphtorch run: error: --compare: 2 output(s) differ "
                                   "from the interpreter; output0: max abs error 0.001")


def test_compare_with_interpreter_executor_is_a_usage_error(head_path):
    proc = gtcli("run", head_path, "--shape", "x:3x16", "--compare", "--executor",
                 "interpreter")
    assert "leaves nothing to compare" in one_line_error(proc, 2, "run")


def row(got, want, rtol=None, atol=None) -> dict:
    (r,) = compare_arrays({"output": np.asarray(got)}, {"output": np.asarray(want)}, rtol, atol,
                          "the interpreter")
    return r


def test_compare_arrays_nan_inf_and_dtypes():
    f = np.float32
    assert row(np.array([np.nan, 1.0], f), np.array([np.nan, 1.0], f))["ok"]
    r = row(np.array([np.nan, 1.0], f), np.array([0.0, 1.0], f))
    assert not r["ok"] and r["max_abs_error"] == np.inf
    assert row(np.array([np.inf, -np.inf], f), np.array([np.inf, -np.inf], f))["ok"]
    assert not row(np.array([3e38], f), np.array([np.inf], f))["ok"]
    assert not row(np.array([np.inf], f), np.array([-np.inf], f))["ok"]
    r = row(np.array([1.0 + 1e-6], np.float64), np.array([1.0], np.float64))
    assert not r["ok"] and r["rtol"] == 1e-12
    assert r["max_rel_error"] == pytest.approx(1e-6)
    r = row(np.array([1.000001], f), np.array([1.0], f))
    assert r["ok"] and r["max_abs_error"] == pytest.approx(9.5367431640625e-07)
    assert not row(np.array([2], np.int64), np.array([3], np.int64))["ok"]
    assert "dtype" in row(np.array([2], np.int64), np.array([2], np.int32))["error"]
    assert row(np.array(True), np.array(True))["ok"]
    assert not row(np.array("a"), np.array("b"))["ok"]
    assert "shape" in row(np.zeros(2, f), np.zeros(3, f))["error"]
