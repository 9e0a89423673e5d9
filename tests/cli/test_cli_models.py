"""The graphtorch command on real models (a traced CNN, a traced TransformerEncoderLayer), end to
end through subprocesses: every command's outputs agree with the eager model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.archive import save
from tests.cli.test_cli import ROOT, gtcli
from tests.serialization.models import DEFAULTS, scripted_defaults


class CNN(gt.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = gt.nn.Conv2d(1, 4, 3, padding=1)
        self.bn = gt.nn.BatchNorm2d(4)
        self.pool = gt.nn.MaxPool2d(2)
        self.fc = gt.nn.Linear(4 * 4 * 4, 10)

    def forward(self, x):
        x = self.pool(gt.nn.functional.relu(self.bn(self.conv(x))))
        return gt.nn.functional.log_softmax(self.fc(x.view(x.size(0), -1)), dim=1)


def _cnn():
    gt.manual_seed(2)
    net = CNN()
    net.train()
    for _ in range(2):                          # non-trivial running statistics
        net(gt.randn(4, 1, 8, 8))
    net.eval()
    return net, "x", (1, 8, 8)


def _encoder():
    gt.manual_seed(4)
    layer = gt.nn.TransformerEncoderLayer(d_model=16, nhead=4, dim_feedforward=32, dropout=0.0,
                                          batch_first=True)
    layer.eval()
    return layer, "src", (5, 16)


MODELS = {"cnn": _cnn, "encoder": _encoder}


class Saved:
    """An eager model, its traced archive, inputs at another batch size and eager outputs."""

    def __init__(self, name: str, directory: Path):
        eager, self.input_name, item_shape = MODELS[name]()
        traced = gt.jit.trace(eager, gt.rand(2, *item_shape))
        self.path = directory / f"{name}.gt"
        save(traced, self.path)
        x = np.random.default_rng(7).standard_normal((3, *item_shape)).astype(np.float32)
        with gt.no_grad():
            self.expected = eager(gt.from_numpy(x)).numpy()
        self.inputs = directory / f"{name}_in.npz"
        np.savez(self.inputs, **{self.input_name: x})
        self.ref = directory / f"{name}_ref.npz"
        np.savez(self.ref, output=self.expected)
        self.dir = directory


@pytest.fixture(scope="module", params=sorted(MODELS))
def model(request, tmp_path_factory) -> Saved:
    return Saved(request.param, tmp_path_factory.mktemp(request.param))


def test_inspect(model):
    doc = json.loads(gtcli("inspect", model.path, "--json").stdout)
    assert [i["name"] for i in doc["inputs"]] == [model.input_name]
    assert doc["parameters"] > 0 and doc["parameter_bytes"] == 4 * doc["parameters"]
    ops = doc["op_histogram"]
    assert ("op::conv2d" in ops) if "cnn" in model.path.name else ("op::layer_norm" in ops)


def test_run_output_equals_eager(model):
    out = model.dir / "out.npz"
    gtcli("run", model.path, "--inputs", model.inputs, "-o", out)
    with np.load(out) as z:
        assert z.files == ["output"]
        np.testing.assert_allclose(z["output"], model.expected, rtol=1e-5, atol=1e-6)


def test_run_compare_with_eager_reference(model):
    doc = json.loads(gtcli("run", model.path, "--inputs", model.inputs, "--compare", model.ref,
                           "--atol", "1e-6", "--iters", "3", "--json").stdout)
    (row,) = doc["compare"]
    assert row["ok"] and row["max_abs_error"] < 1e-5
    assert row["shape"] == list(model.expected.shape)
    assert doc["latency"]["runs"] == 3


def test_profile_covers_the_model(model):
    doc = json.loads(gtcli("profile", model.path, "--inputs", model.inputs, "--iters", "2",
                           "--top", "0", "--json").stdout)
    kinds = {r["kind"] for r in doc["nodes"]}
    assert ("op::conv2d" in kinds) if "cnn" in model.path.name else ("op::linear" in kinds)
    assert all(r["calls"] == 2 for r in doc["nodes"])
    # portable source paths from the archive point at this file
    assert any(r["source"].startswith("tests/cli/test_cli_models.py:") or
               r["source"].startswith("graphtorch/") for r in doc["nodes"])


def test_viz_draws_every_submodule(model, tmp_path):
    gtcli("viz", model.path, "-o", tmp_path / "g.dot")
    dot = (tmp_path / "g.dot").read_text()
    subs = ["conv", "bn", "fc"] if "cnn" in model.path.name else ["self_attn", "linear1",
                                                                  "norm2"]
    for sub in subs:
        assert f'subgraph "cluster_{sub}"' in dot, sub
    gtcli("viz", model.path, "-o", tmp_path / "g.html")
    assert "<svg" in (tmp_path / "g.html").read_text()


def test_optimized_archive_still_equals_eager(model, tmp_path):
    doc = json.loads(gtcli("optimize", model.path, "-o", tmp_path / "o.gt", "--json").stdout)
    assert doc["methods"] and all(r["nodes_after"] <= r["nodes_before"] for r in doc["methods"])
    gtcli("run", tmp_path / "o.gt", "--inputs", model.inputs, "-o", tmp_path / "o.npz")
    np.testing.assert_allclose(np.load(tmp_path / "o.npz")["output"], model.expected,
                               rtol=1e-5, atol=1e-6)


def test_run_and_inspect_use_argument_defaults(tmp_path):
    m = scripted_defaults()
    save(m, tmp_path / "d.gt")
    out = gtcli("inspect", tmp_path / "d.gt").stdout
    assert "k : float = 0.5" in out and "square : bool = False" in out
    x = np.random.default_rng(3).standard_normal((2, 4)).astype(np.float32)
    np.savez(tmp_path / "in.npz", x=x)
    gtcli("run", tmp_path / "d.gt", "--inputs", tmp_path / "in.npz", "-o", tmp_path / "o.npz")
    with gt.no_grad():
        want = m(gt.from_numpy(x), **DEFAULTS).numpy()
    np.testing.assert_allclose(np.load(tmp_path / "o.npz")["output"], want, rtol=1e-6)
    np.savez(tmp_path / "in2.npz", x=x, k=np.float64(2.0))     # one default overridden
    gtcli("run", tmp_path / "d.gt", "--inputs", tmp_path / "in2.npz", "-o", tmp_path / "o2.npz")
    with gt.no_grad():
        want2 = m(gt.from_numpy(x), 2.0).numpy()
    np.testing.assert_allclose(np.load(tmp_path / "o2.npz")["output"], want2, rtol=1e-6)


@pytest.mark.parametrize("command", ["run", "profile"])
def test_device_cuda_without_cuda_is_one_precise_line(command, tmp_path):
    save(scripted_defaults(), tmp_path / "d.gt")
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}     # no GPU, even on a GPU machine
    proc = subprocess.run([sys.executable, "-m", "graphtorch", command, str(tmp_path / "d.gt"),
                           "--shape", "x:2x4", "--device", "cuda"], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr == (f"graphtorch {command}: error: --device cuda: CUDA is not available: "
                           "install CuPy (pip install graphtorch[cuda12]) and run on a machine "
                           "with an NVIDIA GPU\n")


def test_run_refuses_huge_random_inputs_from_a_hostile_archive(tmp_path):
    """An archive may declare any complete input shape; random inputs stop at a cap."""
    from graphtorch.archive import archive_members
    from tests.serialization.archive_edit import pack

    # NOTE: a traced sum, so that the huge declared shape is consistent everywhere (the loader
    # checks calls and results against the declared types)
    ms = archive_members(gt.jit.trace(_total, gt.ones(3, 4)))
    ms = {k: v.replace(b"Tensor(float32, [3, 4], cpu)", b"Tensor(float32, [100000, 100000], cpu)")
          for k, v in ms.items()}
    (tmp_path / "h.gt").write_bytes(pack(ms))
    proc = gtcli("run", tmp_path / "h.gt", check=1)
    assert proc.stderr == ("graphtorch run: error: random inputs would take 40000000000 bytes, "
                           "above the limit of 1073741824 (--max-input-bytes); the largest is "
                           "'x': float32[100000, 100000]; pass inputs from a file (--inputs or "
                           "--input) or raise --max-input-bytes\n")


def _total(x):
    return x.sum()
