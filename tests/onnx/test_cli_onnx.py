"""``graphtorch viz MODEL --format onnx -o m.onnx`` and ``--netron``."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import graphtorch
from graphtorch import cli, nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


@pytest.fixture
def archive(tmp_path):
    graphtorch.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 8), nn.GELU(), nn.Linear(8, 2)).eval()
    path = tmp_path / "mlp.gt"
    graphtorch.jit.save(graphtorch.jit.script(m), str(path))
    return m, path


def test_viz_format_onnx_writes_a_model_onnxruntime_runs(archive, tmp_path, capsys):
    m, path = archive
    out = tmp_path / "m.onnx"
    assert cli.main(["viz", str(path), "--format", "onnx", "-o", str(out),
                     "--shape", "input:5x4"]) == 0
    assert "wrote" in capsys.readouterr().out
    proto = onnx.load(str(out))
    onnx.checker.check_model(proto)
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    got = ort.InferenceSession(str(out)).run(None, {"input": x})[0]
    np.testing.assert_allclose(got, m(graphtorch.tensor(x)).detach().numpy(), rtol=1e-4,
                               atol=1e-5)


def test_viz_onnx_needs_input_shapes_of_a_scripted_model(archive, tmp_path, capsys):
    _, path = archive
    assert cli.main(["viz", str(path), "--format", "onnx", "-o", str(tmp_path / "m.onnx")]) != 0
    assert "--shape input:DIMS" in capsys.readouterr().err


@pytest.mark.skipif(importlib.util.find_spec("netron") is not None,
                    reason="netron is installed: --netron would start a server")
def test_netron_without_the_package_is_a_one_line_error(archive, tmp_path, capsys):
    _, path = archive
    code = cli.main(["viz", str(path), "--format", "onnx", "-o", str(tmp_path / "m.onnx"),
                     "--shape", "input:2x4", "--netron"])
    err = capsys.readouterr().err.strip()
    assert code != 0 and len(err.splitlines()) == 1
    assert "--netron needs the netron package" in err
