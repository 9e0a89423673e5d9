"""graphtorch.utils.tensorboard.SummaryWriter: event files read back with the tensorboard
package's EventAccumulator; summaries equal to what PyTorch's SummaryWriter writes."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorboard", reason="tensorboard is not installed (graphtorch[tensorboard])")

from tensorboard.backend.event_processing.event_accumulator import (  # noqa: E402
    EventAccumulator,
)

import graphtorch as gt  # noqa: E402
from graphtorch.utils.tensorboard import SummaryWriter  # noqa: E402
from tests.cli.viz_zoo import two_linear_if  # noqa: E402


def accumulate(path) -> EventAccumulator:
    ea = EventAccumulator(str(path), size_guidance={"histograms": 0, "scalars": 0,
                                                   "tensors": 0})
    ea.Reload()
    return ea


def test_scalars_read_back(tmp_path):
    values = [0.5 ** i + 0.1 for i in range(6)]
    with SummaryWriter(tmp_path) as w:
        for i, v in enumerate(values):
            w.add_scalar("train/loss", v, i, walltime=1000.0 + i)
        w.add_scalar("lr", gt.tensor(0.25), 3)
        w.add_scalar("precise", 1 / 3, 0, double_precision=True)
    ea = accumulate(tmp_path)
    events = ea.Scalars("train/loss")
    assert [e.step for e in events] == list(range(6))
    assert [e.wall_time for e in events] == [1000.0 + i for i in range(6)]
    np.testing.assert_array_equal([e.value for e in events], np.float32(values))
    assert [(e.step, e.value) for e in ea.Scalars("lr")] == [(3, 0.25)]
    (t,) = ea.Tensors("precise")
    assert t.tensor_proto.double_val == [1 / 3]


def test_add_scalars_writes_one_run_per_tag(tmp_path):
    with SummaryWriter(tmp_path) as w:
        for step in range(3):
            w.add_scalars("loss", {"train": 1.0 - step / 10, "val": 2.0 - step / 10}, step)
    for tag, base in (("train", 1.0), ("val", 2.0)):
        ea = accumulate(tmp_path / f"loss_{tag}")
        got = [(e.step, e.value) for e in ea.Scalars("loss")]
        assert got == [(s, pytest.approx(base - s / 10, rel=1e-7)) for s in range(3)]


@pytest.mark.parametrize("bins", ["tensorflow", 10, "auto"])
def test_histogram_read_back(tmp_path, bins):
    rng = np.random.default_rng(0)
    values = rng.standard_normal(2000).astype(np.float32)
    with SummaryWriter(tmp_path) as w:
        w.add_histogram("weights", gt.tensor(values), 7, bins=bins)
    (ev,) = accumulate(tmp_path).Histograms("weights")
    h = ev.histogram_value
    v = values.astype(np.float64)
    assert ev.step == 7 and h.num == 2000 and h.min == v.min() and h.max == v.max()
    assert h.sum == pytest.approx(v.sum(), rel=1e-12)
    assert h.sum_squares == pytest.approx(np.dot(v, v), rel=1e-12)
    assert sum(h.bucket) == 2000 and h.bucket[0] == 0
    limits = np.array(h.bucket_limit)
    assert np.all(np.diff(limits) > 0)
    # every bucket holds the values in [previous limit, its limit) (the last one closed)
    for i in range(1, len(limits)):
        upper = v <= limits[i] if i == len(limits) - 1 else v < limits[i]
        assert h.bucket[i] == np.count_nonzero((v >= limits[i - 1]) & upper), i
    if bins == 10:
        counts, edges = np.histogram(v, bins=10)
        assert list(h.bucket[1:]) == counts.tolist() and limits[0] == edges[0]


def test_text_and_graph(tmp_path):
    with SummaryWriter(tmp_path) as w:
        w.add_text("notes", "lr **0.1**, batch 32", 2)
        w.add_graph(two_linear_if())
    ea = accumulate(tmp_path)
    (t,) = ea.Tensors("notes/text_summary")
    assert t.step == 2 and t.tensor_proto.string_val == [b"lr **0.1**, batch 32"]
    assert ea.summary_metadata["notes/text_summary"].plugin_data.plugin_name == "text"
    nodes = {n.name: n for n in ea.Graph().node}
    assert {"x", "l1/linear", "l1/weight", "l2/linear", "if/then/mul", "loop/body/add"} <= \
        set(nodes)
    assert nodes["l1/linear"].op == "op::linear"
    assert set(nodes["l1/linear"].input) == {"x", "l1/weight", "l1/bias"}
    assert b"op::linear" in nodes["l1/linear"].attr["ir"].s
    for n in nodes.values():        # every input names a node of the graph
        assert all(i.lstrip("^") in nodes for i in n.input), n.name


def test_graph_of_an_eager_module_needs_an_input(tmp_path):
    net = gt.nn.Sequential(gt.nn.Linear(3, 2), gt.nn.ReLU())
    with SummaryWriter(tmp_path) as w:
        with pytest.raises(gt.errors.GraphtorchError, match="input_to_model"):
            w.add_graph(net)
        w.add_graph(net, gt.rand(4, 3))
    nodes = {n.name: n for n in accumulate(tmp_path).Graph().node}
    shape = nodes["0/linear"].attr["_output_shapes"].list.shape[0]
    assert [d.size for d in shape.dim] == [4, 2]


@pytest.mark.torch
def test_same_summaries_as_pytorch(tmp_path):
    torch = pytest.importorskip("torch")
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    rng = np.random.default_rng(3)
    values = (rng.standard_normal(500) * 3).astype(np.float32)
    for cls, sub, conv in ((SummaryWriter, "gt", gt.tensor), (TorchWriter, "pt", torch.tensor)):
        with cls(str(tmp_path / sub)) as w:
            w.add_scalar("loss", conv(np.float32(0.125)), 1, walltime=5.0)
            w.add_histogram("h", conv(values), 1, walltime=5.0)
            w.add_histogram("h20", conv(values), 1, bins="auto", max_bins=20, walltime=5.0)
            w.add_text("t", "hello", 1, walltime=5.0)
    ours, theirs = accumulate(tmp_path / "gt"), accumulate(tmp_path / "pt")
    assert ours.Scalars("loss") == theirs.Scalars("loss")
    for tag in ("h", "h20"):
        assert ours.Histograms(tag) == theirs.Histograms(tag), tag
    a, b = ours.Tensors("t/text_summary")[0], theirs.Tensors("t/text_summary")[0]
    assert a.tensor_proto == b.tensor_proto
