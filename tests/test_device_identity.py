"""Every CPU device spec resolves to the one ``CPU`` object that tensors compare by identity:
a tensor loaded with ``map_location="cpu"`` behaves like any other CPU tensor."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.archive import load, save
from graphtorch.device import CPU, as_device


@pytest.mark.parametrize("spec", ["cpu", gt.device("cpu"), None])
def test_cpu_specs_are_the_cpu_object(spec):
    assert as_device(spec) is CPU


def test_tensors_made_with_a_fresh_cpu_device_leave_the_graph(tmp_path):
    t = gt.zeros(2, 3, device=gt.device("cpu"))
    assert t.device is CPU
    np.testing.assert_array_equal(t.numpy(), np.zeros((2, 3), np.float32))


class WithBuffer(gt.nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("table", gt.arange(4, dtype=gt.float32))

    def forward(self, x):
        return self.table + 0.0 * x.sum(), self.table


@pytest.mark.parametrize("map_location", ["cpu", gt.device("cpu")])
def test_buffers_loaded_with_map_location_cpu_convert_to_numpy(tmp_path, map_location):
    save(gt.jit.script(WithBuffer()), tmp_path / "m.gt")
    m = load(tmp_path / "m.gt", map_location=map_location)
    with gt.no_grad():
        added, table = m(gt.ones(2))
    assert table.device is CPU
    np.testing.assert_array_equal(table.numpy(), np.arange(4, dtype=np.float32))
    np.testing.assert_array_equal(added.numpy(), np.arange(4, dtype=np.float32))
