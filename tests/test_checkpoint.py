"""graphtorch.save / graphtorch.load: round trips, optimizer state, malformed files."""

import io
import json
import struct
from collections import OrderedDict

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.errors import ArgumentError, FormatError
from graphtorch.testing import assert_close


def _round_trip(obj, **load_kwargs):
    buf = io.BytesIO()
    gt.save(obj, buf)
    buf.seek(0)
    return gt.load(buf, **load_kwargs)


def test_nested_containers_round_trip(tmp_path):
    obj = {"w": gt.randn(3, 4), "ints": gt.arange(5), "flags": gt.tensor([True, False]),
           "half": gt.ones(2, dtype=gt.float16), "u8": gt.tensor([1, 255], dtype=gt.uint8),
           "nested": [1, 2.5, "s", None, (gt.zeros(0), {"deep": True})],
           3: "int key", (1, "a"): "tuple key", "inf": float("inf"), "dt": gt.float64,
           "scalar": gt.tensor(2.0)}
    path = tmp_path / "obj.gt.safetensors"
    gt.save(obj, path)
    back = gt.load(path)
    assert set(back) == set(obj)
    for key in ("w", "ints", "flags", "half", "u8", "scalar"):
        assert_close(back[key], obj[key])
    assert back["nested"][:4] == [1, 2.5, "s", None] and back["nested"][4][1] == {"deep": True}
    assert back[3] == "int key" and back[(1, "a")] == "tuple key"
    assert back["nested"][4][0].shape == (0,) and isinstance(back["nested"][4], tuple)
    assert back["half"].dtype is gt.float16 and back["u8"].dtype is gt.uint8
    assert back["dt"] is gt.float64 and back["inf"] == float("inf")


def test_ordered_dict_and_key_order_survive():
    sd = OrderedDict([("b", gt.ones(1)), ("a", gt.zeros(1))])
    back = _round_trip(sd)
    assert isinstance(back, OrderedDict) and list(back) == ["b", "a"]


def test_shared_tensor_is_stored_once_and_loads_shared():
    t = gt.randn(4)
    back = _round_trip({"a": t, "b": [t]})
    assert back["a"] is back["b"][0]


def test_requires_grad_and_parameters_are_restored():
    p = gt.nn.Parameter(gt.randn(2))
    back = _round_trip([p, gt.ones(2, requires_grad=True), gt.ones(2)])
    assert isinstance(back[0], gt.nn.Parameter) and back[0].requires_grad
    assert back[1].requires_grad and not back[2].requires_grad
    assert_close(back[0].detach(), p.detach())


def test_non_contiguous_tensor_round_trips():
    t = gt.arange(12, dtype=gt.float32).reshape(3, 4).t()
    assert_close(_round_trip(t), t)


def test_map_location_variants():
    t = {"x": gt.ones(2)}
    assert _round_trip(t, map_location="cpu")["x"].device == gt.device("cpu")
    assert _round_trip(t, map_location={"cuda:0": "cpu"})["x"].device == gt.device("cpu")
    seen = []
    back = _round_trip(t, map_location=lambda tensor, loc: seen.append(loc) or tensor * 2)
    assert seen == ["cpu"] and back["x"].tolist() == [2.0, 2.0]


def test_optimizer_state_dict_round_trips_and_resumes():
    rng = np.random.default_rng(0)
    x = gt.tensor(rng.standard_normal((6, 3)))
    w = gt.tensor(rng.standard_normal((3, 2)), requires_grad=True)
    opt = gt.optim.Adam([w], lr=0.01, amsgrad=True)

    def step(opt, w):
        opt.zero_grad()
        (gt.tanh(x @ w) ** 2).sum().backward()
        opt.step()

    step(opt, w)
    sd = _round_trip(opt.state_dict())
    assert sorted(sd["state"]) == [0] and sd["param_groups"][0]["betas"] == (0.9, 0.999)
    w2 = w.detach().clone().requires_grad_()
    opt2 = gt.optim.Adam([w2])
    opt2.load_state_dict(sd)
    step(opt, w)
    step(opt2, w2)
    np.testing.assert_array_equal(w.detach().numpy(), w2.detach().numpy())


@pytest.mark.torch
def test_file_is_readable_safetensors():
    from safetensors.numpy import load as st_load

    buf = io.BytesIO()
    gt.save({"w": gt.ones(2, 3)}, buf)
    arrays = st_load(buf.getvalue())
    assert list(arrays) == ["0"] and arrays["0"].shape == (2, 3)


def test_plain_safetensors_file_loads_as_dict():
    from safetensors.numpy import save as st_save

    data = st_save({"weight": np.arange(6, dtype=np.float32).reshape(2, 3)})
    back = gt.load(io.BytesIO(data))
    assert_close(back["weight"], gt.arange(6, dtype=gt.float32).reshape(2, 3))


def test_unpicklable_objects_are_rejected_with_their_location():
    # other objects are pickled into the file (PyTorch's torch.save); what pickle refuses is named
    with pytest.raises(ArgumentError, match=r"cannot store function \(at obj\['a'\]\[1\]\)"):
        gt.save({"a": [1, lambda: 0]}, io.BytesIO())


def _valid_bytes():
    buf = io.BytesIO()
    gt.save({"w": gt.ones(2, 2)}, buf)
    return buf.getvalue()


def _with_header(header: dict, body: bytes = b"") -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + body


@pytest.mark.parametrize("data,member,pattern", [
    (b"abc", "header", "3 bytes long, too short"),
    (struct.pack("<Q", 1000) + b"{}", "header", "header length 1000 does not fit"),
    (struct.pack("<Q", 3) + b"{x}", "header", "not valid JSON"),
    (_with_header({"0": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 4),
     "tensor '0'", "past the end of the data section"),
    (_with_header({"0": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, b"\0" * 8),
     "tensor '0'", "shape \\[3\\] of float32 needs 12"),
    (_with_header({"0": {"dtype": "C64", "shape": [1], "data_offsets": [0, 8]}}, b"\0" * 8),
     "tensor '0'", "unsupported dtype 'C64'"),
    (_with_header({"__metadata__": {"graphtorch.format_version": "9",
                                    "graphtorch.structure": "null"}}),
     "graphtorch.format_version", "format version 9 is newer"),
    (_with_header({"__metadata__": {"graphtorch.format_version": "1",
                                    "graphtorch.structure": "{not json"}}),
     "graphtorch.structure", "not valid JSON"),
    (_with_header({"__metadata__": {"graphtorch.format_version": "1",
                                    "graphtorch.structure": '{"tensor": "7"}'}}),
     "graphtorch.structure", "tensor '7', which the file does not contain"),
    (_with_header({"__metadata__": {"graphtorch.format_version": "1",
                                    "graphtorch.structure": '{"pickle": "x"}'}}),
     "graphtorch.structure", "unrecognized node"),
])
def test_malformed_files_raise_format_error(data, member, pattern):
    with pytest.raises(FormatError, match=pattern) as info:
        gt.load(io.BytesIO(data))
    assert info.value.member == member


def test_truncated_real_file_is_a_format_error():
    data = _valid_bytes()
    with pytest.raises(FormatError, match="truncated"):
        gt.load(io.BytesIO(data[:-4]))
