"""Constant attribute values as tagged JSON: ``{"int": 3}``, ``{"list": [{"float": 0.5}]}``.

Tags make values self-describing, so reading needs no type parser and no code runs: the only
things a value can become are the Python constants TorchScript modules hold (int, float, bool,
str, None, tuples, lists, string-keyed dicts, dtypes, devices) and tensors, which live in the
tensors member and are referenced by key.
"""

from __future__ import annotations

from collections.abc import Callable

from graphtorch import dtypes
from graphtorch.archive.manifest import MANIFEST, decode_float, encode_float
from graphtorch.device import device as Device
from graphtorch.errors import FormatError
from graphtorch.tensor import Tensor

MAX_DEVICE_INDEX = 1023     # no machine has more devices; a larger index is not data

MAX_VALUE_DEPTH = 64


def encode_value(value, tensor_key: Callable, where: str):
    """Tagged JSON for ``value``; ``tensor_key(tensor)`` stores a tensor and returns its key."""
    if isinstance(value, bool):
        return {"bool": value}
    if isinstance(value, int):
        return {"int": value}
    if isinstance(value, float):
        return {"float": encode_float(value)}
    if isinstance(value, str):
        return {"str": value}
    if value is None:
        return {"none": None}
    if isinstance(value, dtypes.dtype):
        return {"dtype": value.name}
    if isinstance(value, Device):
        return {"device": str(value)}
    if isinstance(value, Tensor):
        return {"tensor": tensor_key(value)}
    if isinstance(value, tuple):
        return {"tuple": [encode_value(v, tensor_key, where) for v in value]}
    if isinstance(value, list):
        return {"list": [encode_value(v, tensor_key, where) for v in value]}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"dict": [[k, encode_value(v, tensor_key, where)] for k, v in value.items()]}
    raise FormatError(f"cannot save {where}: values of type {type(value).__name__} "
                      "are not serializable (supported: int, float, bool, str, None, tuple, "
                      "list, dict with str keys, dtype, device, Tensor)")


def decode_value(obj, tensor: Callable, where: str, depth: int = 0):
    """The Python value of tagged JSON; ``tensor(key)`` returns the loaded tensor."""
    def bad(why: str) -> FormatError:
        return FormatError(f"{where}: {why}", member=MANIFEST)

    if depth > MAX_VALUE_DEPTH:
        raise bad(f"values nest deeper than {MAX_VALUE_DEPTH}")
    if not isinstance(obj, dict) or len(obj) != 1:
        raise bad(f"expected a tagged value like {{\"int\": 3}}, got {obj!r:.80}")
    ((tag, v),) = obj.items()
    simple = {"bool": bool, "int": int, "str": str}
    if tag in simple:
        if type(v) is not simple[tag]:
            raise bad(f"{tag} value expected, got {v!r:.80}")
        return v
    if tag == "float":
        return decode_float(v, where)
    if tag == "none":
        if v is not None:
            raise bad(f"'none' must hold null, got {v!r:.80}")
        return None
    if tag == "dtype":
        if v not in dtypes._BY_NAME:
            raise bad(f"unknown dtype {v!r:.80}")
        return dtypes._BY_NAME[v]
    if tag == "device":
        if not isinstance(v, str) or len(v) > 32:
            raise bad(f"bad device {v!r:.80}: expected a short device string like 'cuda:0'")
        try:
            dev = Device(v)
        except Exception as e:  # noqa: BLE001 - any parse failure is a format error here
            raise bad(f"bad device {v!r:.80}: {e}") from None
        if dev.index is not None and dev.index > MAX_DEVICE_INDEX:
            raise bad(f"bad device {v!r:.80}: index above {MAX_DEVICE_INDEX}")
        return dev
    if tag == "tensor":
        if not isinstance(v, str):
            raise bad(f"tensor key must be a string, got {v!r:.80}")
        return tensor(v)
    if tag in ("tuple", "list"):
        if not isinstance(v, list):
            raise bad(f"{tag} value must be an array")
        items = [decode_value(x, tensor, f"{where}[{i}]", depth + 1) for i, x in enumerate(v)]
        return tuple(items) if tag == "tuple" else items
    if tag == "dict":
        if not isinstance(v, list) or not all(
                isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) for p in v):
            raise bad("dict value must be an array of [str key, value] pairs")
        return {k: decode_value(x, tensor, f"{where}[{k!r}]", depth + 1) for k, x in v}
    raise bad(f"unknown value tag {tag!r}")
