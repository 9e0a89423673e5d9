"""``load(map_location=...)``: a device that is not there is one precise error, raised before the
archive is read."""

from __future__ import annotations

import importlib
import io
from types import SimpleNamespace

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.archive import load, save
from graphtorch.errors import DeviceError

from .models import traced_mlp

device_module = importlib.import_module("graphtorch.device")   # graphtorch.device is the class
NO_CUDA = ("CUDA is not available: install CuPy (pip install graphtorch[cuda12]) and run on a "
           "machine with an NVIDIA GPU")


@pytest.fixture
def data() -> bytes:
    buf = io.BytesIO()
    save(traced_mlp(), buf)
    return buf.getvalue()


@pytest.fixture
def no_cuda(monkeypatch):
    monkeypatch.setattr(device_module, "_cupy", lambda: None)


@pytest.mark.parametrize("location, shown", [("cuda", "'cuda'"), ("cuda:1", "'cuda:1'"),
                                             (0, "0"), (gt.device("cuda"),
                                                        "device(type='cuda')")])
def test_cuda_without_cuda(location, shown, data, no_cuda):
    with pytest.raises(DeviceError) as info:
        load(io.BytesIO(data), map_location=location)
    assert str(info.value) == f"load(map_location={shown}): {NO_CUDA}"


def test_device_is_checked_before_the_file_is_read(no_cuda, tmp_path):
    with pytest.raises(DeviceError, match="CUDA is not available"):
        load(tmp_path / "missing.gt", map_location="cuda")   # not "no such file"


@pytest.mark.parametrize("location, message", [
    ("tpu", "load(map_location='tpu'): unknown device type 'tpu'"),
    ("cuda:x", "load(map_location='cuda:x'): invalid device index 'x'"),
])
def test_bad_device_strings(location, message, data):
    with pytest.raises(DeviceError) as info:
        load(io.BytesIO(data), map_location=location)
    assert str(info.value).startswith(message)


def test_cuda_index_beyond_the_machine(data, monkeypatch):
    one_gpu = SimpleNamespace(cuda=SimpleNamespace(runtime=SimpleNamespace(
        getDeviceCount=lambda: 1)))
    monkeypatch.setattr(device_module, "_cupy", lambda: one_gpu)
    with pytest.raises(DeviceError) as info:
        load(io.BytesIO(data), map_location="cuda:3")
    assert str(info.value) == ("load(map_location='cuda:3'): no such CUDA device 'cuda:3': this "
                               "machine has 1 (cuda:0 to cuda:0)")


@pytest.mark.parametrize("location", ["cpu", gt.device("cpu"), None])
def test_cpu_locations_load(location, data):
    m = load(io.BytesIO(data), map_location=location)
    assert m.l1.weight.device == gt.device("cpu")
    x = gt.randn(3, 4)
    np.testing.assert_array_equal(m(x).detach().numpy(), traced_mlp()(x).detach().numpy())
