"""Complex tensors through graphtorch.save/load and jit.save/load: data only, bit-exact."""

from __future__ import annotations

import io
import json
import struct

import pytest

import graphtorch as gt
from graphtorch.errors import FormatError


def _roundtrip(obj, **load_kwargs):
    buf = io.BytesIO()
    gt.save(obj, buf)
    buf.seek(0)
    return gt.load(buf, **load_kwargs), buf.getvalue()


def test_save_load_complex_tensors_exactly():
    z64 = gt.tensor([[1 + 2j, 3 - 4j], [0.1j, -0.0 + 0j]]).t()  # non-contiguous
    z128 = gt.tensor(1e-300 + 2j, dtype=gt.cdouble)
    got, _ = _roundtrip({"a": z64, "b": [z128, z64]})
    assert got["a"].dtype is gt.complex64 and got["b"][0].dtype is gt.complex128
    assert got["a"].tolist() == z64.tolist() and got["b"][0].item() == 1e-300 + 2j
    assert got["b"][1] is got["a"]  # one tensor reached twice stays one tensor


def test_complex_entries_are_real_pairs_any_reader_can_open():
    _, data = _roundtrip({"z": gt.tensor([1 + 2j])})
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    entry = next(v for k, v in header.items() if k != "__metadata__")
    assert entry["dtype"] == "F32" and entry["shape"] == [1, 2]
    assert '"complex":true' in header["__metadata__"]["graphtorch.structure"]


def test_malformed_complex_entry_is_a_format_error():
    buf = io.BytesIO()
    gt.save({"z": gt.tensor([1 + 2j])}, buf)
    data = buf.getvalue().replace(b'"shape":[1,2]', b'"shape":[2,1]')
    with pytest.raises(FormatError, match="complex tensor is stored as F32 or F64 pairs"):
        gt.load(io.BytesIO(data))


def test_pickled_module_with_complex_buffer():
    m = gt.nn.Module()
    m.register_buffer("z", gt.tensor([1 + 2j, 3 - 4j], dtype=gt.cdouble))
    got, _ = _roundtrip(m, weights_only=False)
    assert got.z.dtype is gt.complex128 and got.z.tolist() == [1 + 2j, 3 - 4j]


class _WithComplexBuffer(gt.nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("z", gt.tensor([1 + 2j, 3 - 4j]))

    def forward(self, x):
        return x * self.z, self.z.imag


def test_jit_archive_keeps_complex_buffers():
    m = gt.jit.script(_WithComplexBuffer())
    buf = io.BytesIO()
    gt.jit.save(m, buf)
    buf.seek(0)
    loaded = gt.jit.load(buf)
    x = gt.tensor([2.0, -1.0])
    for a, b in zip(loaded(x), m(x)):
        assert a.dtype is b.dtype and a.tolist() == b.tolist()
    assert loaded(x)[0].tolist() == [2 + 4j, -3 + 4j]
