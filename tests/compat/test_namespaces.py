"""Namespaces real programs import: set_default_device, accelerator, nn.modules.* paths,
serialization, autograd.profiler / profiler (a real per-op table)."""

from __future__ import annotations

import importlib
import json

import pytest

import graphtorch as gt
from graphtorch.autograd import profiler


def test_default_device_applies_to_factories_and_restores():
    assert gt.get_default_device() == gt.device("cpu")
    try:
        gt.set_default_device("cpu")
        assert gt.zeros(2).device == gt.device("cpu")
        assert gt.tensor([1.0]).device == gt.device("cpu")
    finally:
        gt.set_default_device(None)
    with gt.device("cpu") as dev:
        assert gt.get_default_device() == dev and gt.ones(1).device == dev
    assert gt.get_default_device() == gt.device("cpu")
    with pytest.raises(RuntimeError, match="unknown device type 'tpu'"):
        gt.set_default_device("tpu")


@pytest.mark.gpu
def test_default_device_cuda_moves_factories():
    if not gt.cuda.is_available():
        pytest.skip("needs CuPy and an NVIDIA GPU")
    try:
        gt.set_default_device("cuda")
        assert gt.zeros(2).device.type == "cuda" and gt.tensor([1.0]).device.type == "cuda"
        assert gt.zeros(2, device="cpu").device.type == "cpu"
    finally:
        gt.set_default_device(None)


def test_accelerator_namespace():
    available = gt.accelerator.is_available()
    assert available == gt.cuda.is_available()
    current = gt.accelerator.current_accelerator()
    assert (current is None) == (not available)
    if current is not None:
        assert current.type == "cuda" and gt.accelerator.device_count() >= 1
    else:
        assert gt.accelerator.device_count() == 0
    gt.accelerator.synchronize()
    assert gt.accelerator.current_device_index() == 0


@pytest.mark.torch
def test_nn_modules_paths_match_pytorchs():
    torch = pytest.importorskip("torch")
    import graphtorch.nn.modules as ours

    checked = 0
    for name in ours.__all__:
        if name[0].islower():  # a submodule: its names are PyTorch's names in its namesake
            theirs = importlib.import_module(f"torch.nn.modules.{name}")
            mine = importlib.import_module(f"graphtorch.nn.modules.{name}")
            for cls in mine.__all__:
                assert cls in theirs.__all__, f"{cls} is not in torch.nn.modules.{name}"
                assert getattr(mine, cls) is getattr(gt.nn, cls)
                checked += 1
    assert checked > 100
    assert gt.nn.modules.rnn.LSTM is gt.nn.LSTM and gt.nn.modules.linear.Linear is gt.nn.Linear
    assert gt.nn.modules.module.Module is gt.nn.Module
    assert torch.nn.modules.rnn.LSTM is torch.nn.LSTM


def test_program_importing_from_module_paths_runs():
    from graphtorch.nn.modules.activation import ReLU
    from graphtorch.nn.modules.container import Sequential
    from graphtorch.nn.modules.conv import Conv2d
    from graphtorch.nn.modules.loss import CrossEntropyLoss
    from graphtorch.nn.modules.module import Module

    class Net(Module):
        def __init__(self):
            super().__init__()
            self.body = Sequential(Conv2d(1, 2, 3), ReLU())

        def forward(self, x):
            return self.body(x).flatten(1)

    out = Net()(gt.randn(2, 1, 4, 4))
    loss = CrossEntropyLoss()(out, gt.tensor([0, 3]))
    loss.backward()
    assert out.shape == (2, 8) and loss.item() > 0


def test_serialization_is_an_attribute():
    assert gt.serialization.add_safe_globals is not None
    assert callable(gt.serialization.safe_globals)


def _model():
    gt.manual_seed(0)
    return gt.nn.Sequential(gt.nn.Linear(8, 16), gt.nn.ReLU(), gt.nn.Linear(16, 4))


def test_profiler_counts_every_dispatched_op_and_nests_ranges():
    model = _model()
    x = gt.randn(3, 8)
    with profiler.profile(record_shapes=True) as prof:
        with profiler.record_function("forward"):
            y = model(x)
        for _ in range(3):
            y = gt.relu(y)
        y.sum().backward()
    averages = {e.key: e for e in prof.key_averages()}
    assert averages["aten::linear"].count == 2
    assert averages["aten::relu"].count == 4  # the model's ReLU and three calls
    assert averages["forward"].count == 1
    forward = next(e for e in prof.function_events if e.name == "forward")
    assert {c.name for c in forward.children} >= {"aten::linear", "aten::relu"}
    assert forward.cpu_time_total >= sum(c.cpu_time_total for c in forward.children)
    for e in prof.function_events:
        assert 0 <= e.self_cpu_time_total <= e.cpu_time_total + 1e-9
    total = sum(e.self_cpu_time_total for e in prof.function_events)
    assert prof.self_cpu_time_total == pytest.approx(total)
    shapes = prof.key_averages(group_by_input_shape=True)
    linear_shapes = sorted(str(e.input_shapes) for e in shapes if e.key == "aten::linear")
    assert linear_shapes == ["[[3, 16], [4, 16], [4]]", "[[3, 8], [16, 8], [16]]"]


def test_profiler_table_sorts_and_limits_rows():
    with profiler.profile() as prof:
        a = gt.ones(64, 64)
        for _ in range(5):
            a = a.matmul(a) * 0.01
    table = prof.key_averages().table(sort_by="count", row_limit=2)
    lines = table.splitlines()
    assert lines[1].split()[:3] == ["Name", "Self", "CPU"]
    rows = [ln for ln in lines[3:] if ln.startswith("aten::")]
    assert len(rows) == 2 and {r.split()[0] for r in rows} == {"aten::matmul", "aten::mul"}
    assert all(r.split()[-1] == "5" for r in rows)
    assert lines[-1].startswith("Self CPU time total: ")
    ordered = prof.key_averages().table(sort_by="self_cpu_time_total").splitlines()[3:-2]
    expected = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)
    assert [row.split()[0] for row in ordered] == [e.key for e in expected]
    with pytest.raises(TypeError, match="unknown sort_by 'speed'"):
        prof.key_averages().table(sort_by="speed")


def test_profiler_states_and_decorator(tmp_path):
    @profiler.record_function("helper")
    def helper(t):
        return t.exp()

    assert helper(gt.zeros(1)).item() == 1.0  # no profiler: a plain call
    zero = gt.zeros(1)
    with profiler.profile() as prof:
        helper(zero)
        with pytest.raises(RuntimeError, match="already enabled"):
            with profiler.profile():
                pass
    names = [e.name for e in prof.function_events]
    assert names[:2] == ["helper", "aten::exp"]
    path = tmp_path / "trace.json"
    prof.export_chrome_trace(str(path))
    events = json.loads(path.read_text())["traceEvents"]
    assert [e["name"] for e in events][:2] == ["helper", "aten::exp"]
    with profiler.profile(enabled=False) as off:
        gt.ones(1)
    with pytest.raises(RuntimeError, match="didn't finish"):
        _ = off.function_events


def test_torch_profiler_api():
    from graphtorch.profiler import ProfilerActivity, profile, record_function

    seen = []
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True,
                 on_trace_ready=seen.append) as prof:
        with record_function("model_inference"):
            _model()(gt.randn(2, 8))
        prof.step()
    assert seen == [prof] and prof.step_num == 1
    keys = {e.key for e in prof.key_averages()}
    assert {"model_inference", "aten::linear", "aten::relu"} <= keys
    assert gt.autograd.profiler.profile is not None and gt.profiler.profile is profile
