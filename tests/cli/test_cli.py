"""The graphtorch command end to end, through subprocesses like a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.archive import FORMAT_VERSION, save
from tests.serialization.models import scripted_cell, traced_mlp

ROOT = Path(__file__).resolve().parents[2]


def gtcli(*args: str, check: int | None = 0) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "graphtorch", *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    if check is not None:
        assert proc.returncode == check, (proc.returncode, proc.stdout, proc.stderr)
    return proc


@pytest.fixture(scope="module")
def mlp_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("models") / "mlp.gt"
    save(traced_mlp(), path)
    return path


@pytest.fixture(scope="module")
def cell_path(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("models") / "cell.gt"
    save(scripted_cell(), path)
    return path


def test_version():
    assert gtcli("--version").stdout.strip() == f"graphtorch {gt.__version__}"


def test_env_json():
    info = json.loads(gtcli("env", "--json").stdout)
    assert info["graphtorch"] == gt.__version__
    assert info["numpy"] == np.__version__
    assert "cpu" in info["devices"]
    assert isinstance(info["triton_available"], bool) and isinstance(info["cupy_available"], bool)


def test_inspect(mlp_path):
    out = gtcli("inspect", mlp_path, "--graph").stdout
    assert f"format {FORMAT_VERSION}" in out and f"graphtorch {gt.__version__}" in out
    assert "x : Tensor(float32, [3, 4], cpu)" in out
    assert "l1 (__torch__.nn.Linear): 40 params, 160 B" in out
    assert "op::linear" in out
    assert "graph(%self : __torch__.tests.serialization.models.MLP" in out


def test_inspect_json(mlp_path):
    doc = json.loads(gtcli("inspect", mlp_path, "--json").stdout)
    assert doc["format_version"] == FORMAT_VERSION
    assert doc["inputs"] == [{"name": "x", "type": "Tensor(float32, [3, 4], cpu)"}]
    assert doc["parameters"] == 4 * 8 + 8 + 8 * 2 + 2
    assert doc["parameter_bytes"] == 4 * doc["parameters"]
    assert doc["op_histogram"]["op::linear"] == 2
    assert [r["path"] for r in doc["modules"]] == ["<root>", "l1", "l2"]


def test_inspect_code(cell_path):
    out = gtcli("inspect", cell_path, "--code").stdout
    assert "def forward(self" in out and scripted_cell().code.strip() in out


def test_function_archive(tmp_path):
    from tests.serialization.models import scale

    save(scale, tmp_path / "f.gt")
    doc = json.loads(gtcli("inspect", tmp_path / "f.gt", "--json").stdout)
    assert doc["entry"] == scale.qualified_name
    assert [i["name"] for i in doc["inputs"]] == ["x", "k"]
    proc = gtcli("run", tmp_path / "f.gt", "--shape", "x:4", check=1)
    assert "--shape k:scalar" in proc.stderr
    x = np.arange(4, dtype=np.float32)
    np.savez(tmp_path / "in.npz", x=x, k=np.float64(2.5))
    gtcli("run", tmp_path / "f.gt", "--inputs", tmp_path / "in.npz", "-o", tmp_path / "o.npz")
    np.testing.assert_allclose(np.load(tmp_path / "o.npz")["output"], x * 2.5)


def test_run_outputs_match_the_model(mlp_path, tmp_path):
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    gtcli("run", mlp_path, "--input", f"x={tmp_path / 'x.npy'}", "-o", tmp_path / "out.npz")
    expected = traced_mlp()(gt.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(np.load(tmp_path / "out.npz")["output"], expected, rtol=1e-6)


def test_run_inputs_npz_compare_and_benchmark_json(cell_path, tmp_path):
    rng = np.random.default_rng(1)
    x, h = (rng.standard_normal((5, 4)).astype(np.float32) for _ in range(2))
    np.savez(tmp_path / "in.npz", x=x, h=h)
    ref = scripted_cell()(gt.from_numpy(x), gt.from_numpy(h)).detach().numpy()
    np.savez(tmp_path / "ref.npz", output=ref)
    doc = json.loads(gtcli("run", cell_path, "--inputs", tmp_path / "in.npz", "--compare",
                           tmp_path / "ref.npz", "--warmup", "2", "--iters", "7",
                           "--json").stdout)
    assert doc["compare"][0]["ok"] and doc["compare"][0]["max_abs_error"] < 1e-6
    lat = doc["latency"]
    assert lat["runs"] == 7
    assert lat["min_ms"] <= lat["p50_ms"] <= lat["p90_ms"] <= lat["p99_ms"] <= lat["max_ms"]
    assert lat["throughput_per_s"] == pytest.approx(1e3 / lat["mean_ms"])


def test_run_compare_mismatch_exits_1(cell_path, tmp_path):
    np.savez(tmp_path / "ref.npz", output=np.zeros((2, 4), np.float32))
    proc = gtcli("run", cell_path, "--shape", "x:2x4", "--shape", "h:2x4", "--compare",
                 tmp_path / "ref.npz", check=1)
    assert "MISMATCH" in proc.stdout
    assert proc.stderr.count("\n") == 1 and "differ from" in proc.stderr


def test_run_random_shapes_are_seeded(cell_path, tmp_path):
    for name in ("a", "b"):
        gtcli("run", cell_path, "--shape", "x:2x4:float32", "--shape", "h:2x4", "--seed", "3",
              "-o", tmp_path / f"{name}.npz")
    np.testing.assert_array_equal(np.load(tmp_path / "a.npz")["output"],
                                  np.load(tmp_path / "b.npz")["output"])


def test_run_min_time(mlp_path):
    doc = json.loads(gtcli("run", mlp_path, "--min-time", "0.3", "--json").stdout)
    assert doc["latency"]["runs"] > 1
    assert doc["latency"]["mean_ms"] * doc["latency"]["runs"] >= 0.25 * 1e3


def test_profile_table(cell_path):
    proc = gtcli("profile", cell_path, "--shape", "x:2x4", "--shape", "h:2x4", "--iters", "3")
    assert "total ms" in proc.stdout and "models.py:" in proc.stdout
    doc = json.loads(gtcli("profile", cell_path, "--shape", "x:2x4", "--shape", "h:2x4",
                           "--iters", "3", "--json").stdout)
    totals = [r["total_ms"] for r in doc["nodes"]]
    assert totals == sorted(totals, reverse=True)
    assert all(r["calls"] == 3 for r in doc["nodes"])
    assert any(r["kind"] == "prim::Loop" for r in doc["nodes"])


def test_viz_dot_and_html(mlp_path, tmp_path):
    gtcli("viz", mlp_path, "-o", tmp_path / "g.dot")
    dot = (tmp_path / "g.dot").read_text()
    assert dot.startswith("digraph") and 'subgraph "cluster_l1"' in dot
    assert 'label="float32[3, 8]"' in dot
    gtcli("viz", mlp_path, "-o", tmp_path / "g.html")
    html = (tmp_path / "g.html").read_text()
    # self-contained: the script is inline and nothing is fetched
    assert "<svg" in html and "l2: Linear" in html and "<script src" not in html
    assert "http://" not in html.replace("http://www.w3.org", "")
    assert "float32[3, 2]" in html


def test_viz_svg_uses_the_builtin_layout_without_graphviz(mlp_path, tmp_path):
    from graphtorch.viz import graphviz_available

    proc = gtcli("viz", mlp_path, "-o", tmp_path / "g.svg", "--json")
    assert (tmp_path / "g.svg").read_text().lstrip().startswith("<?xml")
    doc = json.loads(proc.stdout)
    if graphviz_available():
        assert doc["engine"] == "dot" and "note" not in doc
    else:
        assert doc["engine"] == "builtin"
        assert "Graphviz is not installed" in proc.stderr


def test_optimize_writes_a_loadable_archive(mlp_path, tmp_path):
    doc = json.loads(gtcli("optimize", mlp_path, "-o", tmp_path / "o.gt", "--json").stdout)
    assert doc["pipeline"] == "O1" and doc["methods"]
    gtcli("inspect", tmp_path / "o.gt")


@pytest.mark.parametrize("args, code, message", [
    (["run"], 2, "the following arguments are required: model"),
    (["frobnicate"], 2, "invalid choice"),
    (["run", "{mlp}", "--iters", "0"], 2, "must be at least 1"),
    (["run", "{mlp}", "--shape", "x:3by4"], 2, "expected NAME:DIMS[:DTYPE]"),
    (["run", "{missing}"], 1, "no such file"),
    (["inspect", "{garbage}"], 1, "not a .gt archive"),
    (["run", "{mlp}", "--shape", "y:3x4"], 1, "no input named 'y'"),
    (["run", "{mlp}", "--shape", "x:3x5"], 1, "cannot be multiplied"),
    (["run", "{cell}"], 1, "input 'x' : Tensor needs a value"),
    (["run", "{mlp}", "--device", "tpu"], 1, "unknown device type"),
    (["inspect", "{mlp}", "--method", "nope"], 1, "no method 'nope'"),
])
def test_errors_are_one_line_with_exit_codes(args, code, message, mlp_path, cell_path,
                                             tmp_path):
    (tmp_path / "garbage.gt").write_bytes(b"garbage" * 10)
    paths = {"mlp": mlp_path, "cell": cell_path, "missing": tmp_path / "missing.gt",
             "garbage": tmp_path / "garbage.gt"}
    proc = gtcli(*[a.format(**paths) for a in args], check=code)
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    if code == 1:
        assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("graphtorch ")


def test_debug_shows_the_traceback(tmp_path):
    proc = gtcli("inspect", tmp_path / "missing.gt", "--debug", check=1)
    assert "Traceback" in proc.stderr and "FormatError" in proc.stderr


def test_inputs_the_model_rejects_are_a_data_error(tmp_path):
    src = tmp_path / "catmodel.py"
    src.write_text("import graphtorch as gt\n\n\n@gt.jit.script\ndef f(x):\n"
                   "    return gt.cat([x, x], 2)\n\n\ngt.jit.save(f, 'cat.gt')\n")
    subprocess.run([sys.executable, str(src)], cwd=tmp_path, check=True)
    r = gtcli("run", str(tmp_path / "cat.gt"), "--shape", "x:2x3", check=None)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "the model failed on these inputs: IndexError" in lines[0]
    assert "internal error" not in r.stderr


def test_run_with_the_codegen_executor_matches_the_interpreter(mlp_path, tmp_path):
    outs = {}
    for executor in ("interpreter", "codegen"):
        out = tmp_path / f"{executor}.npz"
        r = gtcli("run", mlp_path, "--shape", "x:3x4", "--seed", "3", "--executor", executor,
                  "-o", out, "--json")
        assert json.loads(r.stdout)["executor"] == executor
        outs[executor] = np.load(out)
    for key in outs["interpreter"].files:
        np.testing.assert_allclose(outs["codegen"][key], outs["interpreter"][key], rtol=1e-6)


def test_cache_command_shows_prunes_and_clears(tmp_path, monkeypatch):
    monkeypatch.setenv("GT_CACHE_DIR", str(tmp_path))
    lib = tmp_path / "kernels" / "gt_x.so"
    lib.parent.mkdir()
    lib.write_bytes(b"\0" * 4096)
    os.utime(lib, (1, 1))
    info = json.loads(gtcli("cache", "--json").stdout)
    assert info["root"] == str(tmp_path) and info["files"] == 1 and info["bytes"] == 4096
    assert info["by_dir"]["kernels"] == {"files": 1, "bytes": 4096}
    assert "1 files, 0.0 MB" in gtcli("cache", "info").stdout
    pruned = json.loads(gtcli("cache", "prune", "--max-mb", "0.001", "--json").stdout)
    assert pruned["removed_files"] == 1 and not lib.exists()
    lib.write_bytes(b"\0" * 10)
    assert "cleared" in gtcli("cache", "clear").stdout and not lib.exists()
    bad = gtcli("cache", "prune", "--max-mb", "0", check=2)
    assert bad.stderr.count("\n") == 1 and "--max-mb must be positive" in bad.stderr
    assert "goes with 'prune'" in gtcli("cache", "info", "--max-mb", "3", check=2).stderr
