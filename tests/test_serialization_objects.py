"""graphtorch.save / graphtorch.load of whole modules and arbitrary objects (PyTorch >= 2.6
semantics): pickled parts, weights_only refusals, the safe-globals allow-list, numpy arrays."""

from __future__ import annotations

import io
import json
import os
import pickle
import struct
from collections import OrderedDict

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.errors import FormatError, UnpicklingError
from graphtorch.testing import assert_close


class Point:
    """A plain user class, allow-listed in some tests."""

    def __init__(self, x, tensor):
        self.x, self.tensor = x, tensor


class Boom:
    """Unpickling this runs code: weights_only must refuse it before anything runs."""

    def __reduce__(self):
        return (os.system, ("echo pwned",))


def _net(torch):
    nn = torch.nn
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8, 3))


def _bytes(obj, torch=gt) -> io.BytesIO:
    buf = io.BytesIO()
    torch.save(obj, buf)
    buf.seek(0)
    return buf


def test_whole_module_round_trips_with_weights_only_false():
    gt.manual_seed(0)
    model = _net(gt)
    x = gt.randn(2, 1, 4, 4)
    back = gt.load(_bytes(model), weights_only=False)
    assert type(back) is gt.nn.Sequential and type(back[3]) is gt.nn.Linear
    assert isinstance(back[3].weight, gt.nn.Parameter) and back[3].weight.requires_grad
    assert_close(back(x), model(x))
    assert list(back.state_dict()) == list(model.state_dict())
    back(x).sum().backward()  # the loaded module trains
    assert back[0].weight.grad is not None


def test_whole_module_is_refused_by_default_with_pytorchs_message():
    with pytest.raises(UnpicklingError) as info:
        gt.load(_bytes(_net(gt)))
    msg = str(info.value)
    assert msg.startswith("Weights only load failed.")
    assert "default value of the `weights_only` argument of `graphtorch.load` is True" in msg
    assert ("Unsupported global: GLOBAL graphtorch.nn.container.Sequential was not an allowed "
            "global by default. Please use `graphtorch.serialization.add_safe_globals("
            "[graphtorch.nn.container.Sequential])`") in msg
    with pytest.raises(UnpicklingError, match="Weights only load failed") as explicit:
        gt.load(_bytes(_net(gt)), weights_only=True)
    assert "default value" not in str(explicit.value)


@pytest.mark.torch
def test_refusals_match_pytorch():
    torch = pytest.importorskip("torch")

    for framework in (torch, gt):
        with pytest.raises(pickle.UnpicklingError, match="Weights only load failed") as info:
            framework.load(_bytes(Point(1, framework.ones(2)), framework))
        assert ("Unsupported global: GLOBAL tests.test_serialization_objects.Point was not an "
                "allowed global by default") in str(info.value)
        back = framework.load(_bytes({"w": framework.ones(2), "n": 3}, framework))
        assert back["n"] == 3 and back["w"].tolist() == [1.0, 1.0]


def test_code_is_not_run_under_weights_only(capfd):
    buf = _bytes({"payload": Boom()})
    with pytest.raises(UnpicklingError, match=r"GLOBAL (posix|os|nt)\.system was not an allowed"):
        gt.load(buf)
    assert "pwned" not in capfd.readouterr().out


def test_add_safe_globals_and_context_manager_allow_a_class():
    t = gt.arange(3.0)
    obj = {"p": Point(2.5, t), "same": t}
    with gt.serialization.safe_globals([Point]):
        assert gt.serialization.get_safe_globals() == [Point]
        back = gt.load(_bytes(obj))
    assert gt.serialization.get_safe_globals() == []
    assert isinstance(back["p"], Point) and back["p"].x == 2.5
    assert back["p"].tensor is back["same"]  # a tensor shared across parts loads once
    assert_close(back["same"], t)
    try:
        gt.serialization.add_safe_globals([(Point, "tests.test_serialization_objects.Point")])
        assert isinstance(gt.load(_bytes(obj))["p"], Point)
    finally:
        gt.serialization.clear_safe_globals()
    with pytest.raises(UnpicklingError):
        gt.load(_bytes(obj))


def test_builtin_containers_load_under_weights_only():
    obj = {"set": {1, 2}, "fs": frozenset([3]), "c": complex(1, 2), "b": b"\x00\xff",
           "ba": bytearray(b"xy"), "od": OrderedDict(a=gt.ones(1)), "size": gt.Size([2, 3])}
    back = gt.load(_bytes(obj))
    assert back["set"] == {1, 2} and back["fs"] == frozenset([3]) and back["c"] == 1 + 2j
    assert back["b"] == b"\x00\xff" and back["ba"] == bytearray(b"xy")
    assert isinstance(back["od"], OrderedDict) and back["size"] == (2, 3)


def test_numpy_arrays_are_data():
    arrays = {"f": np.linspace(0, 1, 6).reshape(2, 3), "i": np.arange(4, dtype=np.int16),
              "c": np.array([1 + 2j]), "b": np.array([[True, False]]), "s": np.array(["ab"]),
              "nc": np.arange(12.0).reshape(3, 4)[:, ::2], "scalar": np.array(3.5)}
    buf = _bytes(arrays)
    meta = _metadata(buf.getvalue())
    assert meta["graphtorch.format_version"] == "2" and "pickle" not in meta["graphtorch.structure"]
    back = gt.load(buf)  # weights_only default: arrays are data, not code
    for k, a in arrays.items():
        assert isinstance(back[k], np.ndarray) and back[k].dtype == a.dtype
        np.testing.assert_array_equal(back[k], a)
    objects = np.array([1, "x"], dtype=object)  # object arrays are pickled, so refused by default
    with pytest.raises(UnpicklingError, match="numpy"):
        gt.load(_bytes(objects))
    assert gt.load(_bytes(objects), weights_only=False).tolist() == [1, "x"]


def _metadata(data: bytes) -> dict:
    (n,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8:8 + n])["__metadata__"]


def test_tensor_only_files_stay_pickle_free_version_1():
    data = _bytes({"w": gt.ones(2), "opt": [1, 2.0]}).getvalue()
    meta = _metadata(data)
    assert meta["graphtorch.format_version"] == "1" and "pickle" not in meta["graphtorch.structure"]


def test_module_file_is_safetensors_with_tensors_as_entries():
    safetensors = pytest.importorskip("safetensors.numpy")
    model = _net(gt)
    tensors = safetensors.load(_bytes(model).getvalue())
    pickled = [k for k in tensors if k.startswith("p")]
    assert len(pickled) == 1 and tensors[pickled[0]].dtype == np.uint8
    weight = model[3].weight.detach().numpy()
    assert any(v.shape == weight.shape and np.array_equal(v, weight) for v in tensors.values())


def test_map_location_reaches_pickled_tensors():
    model = _net(gt)
    seen = []

    def move(t, saved):
        seen.append(saved)
        return t

    back = gt.load(_bytes(model), map_location=move, weights_only=False)
    assert seen == ["cpu"] * 4 and back[0].weight.device == gt.device("cpu")
    back = gt.load(_bytes(model), map_location="cpu", weights_only=False)
    assert_close(back[3].bias, model[3].bias)


def test_state_dict_round_trip_by_default():
    model = _net(gt)
    fresh = _net(gt)
    fresh.load_state_dict(gt.load(_bytes(model.state_dict())))
    for (k, a), b in zip(model.state_dict().items(), fresh.state_dict().values()):
        assert_close(a, b, msg=k)


def test_corrupt_pickle_entry_is_a_format_error():
    data = bytearray(_bytes(Point(1, 2)).getvalue())
    (n,) = struct.unpack("<Q", data[:8])
    data[8 + n:] = b"\x00" * (len(data) - 8 - n)
    with pytest.raises(FormatError, match="pickle 'p0'"):
        gt.load(io.BytesIO(bytes(data)), weights_only=True)


def test_save_rejects_other_pickle_modules():
    with pytest.raises(TypeError, match="standard pickle module"):
        gt.save({}, io.BytesIO(), pickle_module=json)
    assert gt.serialization.save is gt.save and gt.serialization.load is gt.load


@pytest.mark.torch
def test_whole_model_checkpoint_program_matches_pytorch():
    """word_language_model's pattern: train, torch.save(model, f), torch.load(f,
    weights_only=False), evaluate."""
    pytest.importorskip("torch")
    from tests.compat.harness import initial_state, load_state, run_both

    def program(torch, state):
        model = load_state(torch, _net(torch), state)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        x = torch.tensor(np.random.default_rng(0).standard_normal((4, 1, 4, 4),
                                                                  dtype=np.float32))
        model(x).pow(2).mean().backward()
        opt.step()
        buf = io.BytesIO()
        torch.save(model, buf)
        buf.seek(0)
        back = torch.load(buf, weights_only=False)
        return {"out": back(x), "weight": back[3].weight}

    run_both(program, initial_state(_net))


def test_unsafe_globals_are_listed_without_unpickling(capfd):
    buf = _bytes({"model": _net(gt), "boom": Boom(), "w": gt.ones(1), "s": {1}})
    names = gt.serialization.get_unsafe_globals_in_checkpoint(buf)
    assert "graphtorch.nn.container.Sequential" in names
    assert "graphtorch.nn.linear.Linear" in names
    assert any(n.endswith(".system") for n in names)
    assert "builtins.set" not in names and "collections.OrderedDict" not in names
    assert "pwned" not in capfd.readouterr().out
    with gt.serialization.safe_globals([gt.nn.Sequential]):
        again = gt.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(buf.getvalue()))
    assert "graphtorch.nn.container.Sequential" not in again
    assert gt.serialization.get_unsafe_globals_in_checkpoint(_bytes({"w": gt.ones(1)})) == []


@pytest.mark.torch
def test_a_torch_save_file_is_named_as_such():
    torch = pytest.importorskip("torch")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    buf = io.BytesIO()
    torch.save({"w": torch.ones(2)}, buf)
    with pytest.raises(FormatError, match="zip archive \\(a torch.save file"):
        gt.load(io.BytesIO(buf.getvalue()))
    data = safetensors_torch.save({"w": torch.arange(3.0)})  # the suggested route works
    assert gt.load(io.BytesIO(data))["w"].tolist() == [0.0, 1.0, 2.0]

