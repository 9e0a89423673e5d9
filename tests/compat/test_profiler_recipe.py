"""The profiler recipe's patterns (recipes_source/recipes/profiler_recipe.py): a schedule for a
long-running loop with ``on_trace_ready``, memory columns with ``profile_memory=True``, tables
grouped by input shape, and the accelerator checks a CPU-only build answers."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.profiler import ProfilerAction, ProfilerActivity, profile, record_function, schedule


def _model():
    gt.manual_seed(0)
    return gt.nn.Sequential(gt.nn.Conv2d(3, 4, 3), gt.nn.BatchNorm2d(4), gt.nn.ReLU(),
                            gt.nn.AdaptiveAvgPool2d(1), gt.nn.Flatten(), gt.nn.Linear(4, 2))


@pytest.mark.torch
@pytest.mark.parametrize("kwargs", [
    {"wait": 1, "warmup": 1, "active": 2},
    {"skip_first": 10, "wait": 5, "warmup": 1, "active": 3, "repeat": 2},
    {"wait": 2, "warmup": 1, "active": 1, "repeat": 1, "skip_first_wait": 1}])
def test_schedule_actions_match_pytorch(kwargs):
    torch = pytest.importorskip("torch")
    ours, theirs = schedule(**kwargs), torch.profiler.schedule(**kwargs)
    assert [ours(s).name for s in range(40)] == [theirs(s).name for s in range(40)]


def test_scheduled_loop_calls_on_trace_ready_per_cycle_with_its_steps():
    model, x = _model(), gt.randn(2, 3, 8, 8)
    ready = []

    def handler(p):
        names = [e.key for e in p.key_averages()]
        ready.append((p.step_num, sorted(n for n in names if n.startswith("ProfilerStep")),
                      p.key_averages().table(sort_by="self_cpu_time_total", row_limit=5)))

    with profile(activities=[ProfilerActivity.CPU],
                 schedule=schedule(wait=1, warmup=1, active=2), on_trace_ready=handler) as p:
        for _ in range(8):
            model(x)
            p.step()
    # steps 2-3 and 6-7 recorded; each cycle's trace is ready when its last step ends
    assert [(n, steps) for n, steps, _ in ready] == [
        (4, ["ProfilerStep#2", "ProfilerStep#3"]), (8, ["ProfilerStep#6", "ProfilerStep#7"])]
    assert "aten::conv2d" in ready[0][2] and "Self CPU time total" in ready[0][2]
    assert p.current_action is ProfilerAction.NONE


def test_scheduled_step_counts_each_op_once_per_recorded_step():
    x = gt.ones(3)
    with profile(schedule=schedule(wait=0, warmup=1, active=3, repeat=1)) as p:
        for _ in range(6):
            (x * 2).sum()
            p.step()
    counts = {e.key: e.count for e in p.key_averages()}
    assert counts["aten::mul"] == 3 and counts["aten::sum"] == 3   # the 3 active steps only


def test_without_schedule_trace_ready_runs_once_at_the_end():
    calls = []
    with profile(on_trace_ready=lambda p: calls.append(len(p.key_averages()))) as p:
        gt.ones(2).exp()
        p.step()
        gt.ones(2).exp()
    assert len(calls) == 1 and calls[0] >= 2


def test_profile_memory_counts_the_bytes_each_op_allocates():
    a = gt.ones(64, 32)
    with profile(profile_memory=True, record_shapes=True) as prof:
        with record_function("block"):
            b = a.matmul(gt.ones(32, 16))         # new (64, 16) float32
            c = b.view(16, 64)                    # a view: no new memory
            d = gt.nn.functional.relu(b)          # new (64, 16)
    events = {e.key: e for e in prof.key_averages()}
    out_bytes = 64 * 16 * 4
    assert events["aten::matmul"].self_cpu_memory_usage == out_bytes
    assert events["aten::ones"].self_cpu_memory_usage == 32 * 16 * 4
    assert events["aten::view"].self_cpu_memory_usage == 0
    assert c.shape == (16, 64)
    assert events["aten::relu"].cpu_memory_usage == out_bytes
    assert events["block"].self_cpu_memory_usage == 0
    assert events["block"].cpu_memory_usage == 2 * out_bytes + 32 * 16 * 4
    table = prof.key_averages().table(sort_by="self_cpu_memory_usage", row_limit=10)
    header = [line for line in table.splitlines() if line.startswith("Name")][0]
    assert "CPU Mem" in header and "Self CPU Mem" in header
    assert "10.00 Kb" in table        # block: 2 Kb + 4 Kb + 4 Kb, as PyTorch formats bytes
    assert np.array_equal(d.numpy(), np.maximum(b.numpy(), 0))


def test_memory_columns_only_with_profile_memory():
    with profile() as prof:
        gt.ones(4).exp()
    assert "CPU Mem" not in prof.key_averages().table()


def test_nested_composite_counts_its_result_once():
    x = gt.randn(8, 5)
    with profile(profile_memory=True) as prof:
        gt.nn.functional.log_softmax(x, dim=1)
    totals = {e.key: e for e in prof.key_averages()}
    top = totals["aten::log_softmax"]
    assert top.cpu_memory_usage >= 8 * 5 * 4
    roots = [e for e in prof.function_events if e.cpu_parent is None]
    assert sum(e.cpu_memory_usage for e in roots) == sum(
        e.self_cpu_memory_usage for e in prof.function_events)


def test_accelerator_checks_of_a_cpu_only_build():
    assert gt.xpu.is_available() is False and gt.xpu.device_count() == 0
    assert isinstance(gt.cuda.is_available(), bool)
