"""``graphtorch.save`` / ``graphtorch.load``: tensors and containers of them as data; any other
object pickled into the same file (:mod:`graphtorch.serialization_pickle`).

File format: one safetensors file. Every tensor in ``obj`` is a safetensors entry named by a
number (``"0"``, ``"1"`` ...; a complex tensor as its (real, imag) pairs, a last dimension of 2,
marked ``"complex": true``); the object's shape — dicts, lists, tuples, numbers, strings,
``None`` and where each tensor goes — is JSON stored in the safetensors metadata under
``graphtorch.structure``, next to ``graphtorch.format_version``. Loading parses that JSON and
copies bytes into arrays: nothing is imported or executed. Numpy arrays are data too (a ``U8``
entry of their bytes, ``{"ndarray": name, "dtype": "<f8", "shape": [...]}``). Any other object
(an ``nn.Module``, a user class) is pickled into a ``U8`` entry (``{"pickle": name}``), its tensors
and arrays referenced as entries; ``load(weights_only=True)``, the default, unpickles it only
from allow-listed globals. Other safetensors readers see the tensors; a plain safetensors file
(no structure) loads as a dict of tensors.
"""

from __future__ import annotations

import json
import os
import pickle
import struct
from collections import OrderedDict
from collections.abc import Callable
from typing import IO, Any

import numpy as np

from graphtorch import dtypes
from graphtorch.device import CPU, as_device, device
from graphtorch.errors import ArgumentError, FormatError
from graphtorch.nn.parameter import Parameter
from graphtorch.serialization_pickle import (
    DEFAULT_PROTOCOL,
    pickle_object,
    unpickle_object,
    unsafe_globals,
)
from graphtorch.tensor import Tensor

FORMAT_VERSION = 2  # 2: "ndarray" and "pickle" nodes; files without them are written as 1
_STRUCTURE_KEY = "graphtorch.structure"
_VERSION_KEY = "graphtorch.format_version"
_MAX_HEADER = 100 * 1024 * 1024

# safetensors dtype codes <-> graphtorch dtypes
_CODES = {"F16": dtypes.float16, "F32": dtypes.float32, "F64": dtypes.float64,
          "I8": dtypes.int8, "I16": dtypes.int16, "I32": dtypes.int32, "I64": dtypes.int64,
          "U8": dtypes.uint8, "BOOL": dtypes.bool_}
_CODE_OF = {d.name: code for code, d in _CODES.items()}
_NDARRAY_KINDS = "biufcUS"  # numpy dtype kinds stored as raw data (not object / structured)

PathOrFile = str | os.PathLike | IO[bytes]
MapLocation = str | device | dict | Callable | None


# --- save --------------------------------------------------------------------------------------
def save(obj: Any, f: PathOrFile, pickle_module: Any = None,
         pickle_protocol: int = DEFAULT_PROTOCOL) -> None:
    """Save tensors, numpy arrays, numbers, strings, ``None`` and dicts / lists / tuples of them
    to ``f`` as data; any other object (a whole ``nn.Module``) is pickled into the same file.

    >>> import graphtorch, io
    >>> buf = io.BytesIO()
    >>> graphtorch.save({"w": graphtorch.ones(2), "step": 3}, buf)
    >>> _ = buf.seek(0)
    >>> graphtorch.load(buf)["step"]
    3
    """
    if pickle_module is not None and pickle_module is not pickle:
        raise ArgumentError("graphtorch.save pickles with the standard pickle module only")
    arrays: dict[str, np.ndarray] = {}
    names: dict[Any, str] = {"protocol": pickle_protocol}
    structure = _encode(obj, arrays, names, "obj")
    new_nodes = any(isinstance(k, tuple) for k in names) or any(k[0] == "p" for k in arrays)
    version = FORMAT_VERSION if new_nodes else 1  # ndarray / pickle nodes need version 2
    metadata = {_VERSION_KEY: str(version),
                _STRUCTURE_KEY: json.dumps(structure, separators=(",", ":"))}
    from safetensors.numpy import save as st_save

    data = st_save(arrays, metadata=metadata)
    if hasattr(f, "write"):
        f.write(data)
    else:
        with open(f, "wb") as out:
            out.write(data)


def _encode(obj: Any, arrays: dict, names: dict, where: str):
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        # NOTE: JSON has no inf/nan; keep them as tagged strings to stay strict JSON.
        return obj if np.isfinite(obj) else {"float": repr(obj)}
    if isinstance(obj, Tensor):
        return _encode_tensor(obj, arrays, names)
    if isinstance(obj, dict):
        items = [[_encode(k, arrays, names, f"{where} key {k!r}"),
                  _encode(v, arrays, names, f"{where}[{k!r}]")] for k, v in obj.items()]
        return {"ordered_dict" if isinstance(obj, OrderedDict) else "dict": items}
    if isinstance(obj, (list, tuple)):
        kind = "list" if isinstance(obj, list) else "tuple"
        return {kind: [_encode(v, arrays, names, f"{where}[{i}]") for i, v in enumerate(obj)]}
    if isinstance(obj, dtypes.dtype):
        return {"dtype": obj.name}
    if isinstance(obj, device):
        return {"device": str(obj)}
    if isinstance(obj, (np.integer, np.floating, np.bool_)):
        return _encode(obj.item(), arrays, names, where)
    if isinstance(obj, np.ndarray) and obj.dtype.kind in _NDARRAY_KINDS:
        return _encode_ndarray(obj, arrays, names)
    return _encode_pickled(obj, arrays, names, where)


def _as_data(obj: Any, arrays: dict, names: dict):
    """The data reference of an object met while pickling (None: pickle it)."""
    if isinstance(obj, Tensor):
        return _encode_tensor(obj, arrays, names)
    if isinstance(obj, np.ndarray) and obj.dtype.kind in _NDARRAY_KINDS:
        return _encode_ndarray(obj, arrays, names)
    if isinstance(obj, dtypes.dtype):
        return {"dtype": obj.name}
    if isinstance(obj, device):
        return {"device": str(obj)}
    return None


def _encode_pickled(obj: Any, arrays: dict, names: dict, where: str) -> dict:
    try:
        data = pickle_object(obj, lambda x: _as_data(x, arrays, names), names["protocol"])
    except (pickle.PicklingError, TypeError, AttributeError) as e:
        raise ArgumentError(f"graphtorch.save cannot store {type(obj).__name__} (at {where}): "
                            f"it is not picklable ({e})") from None
    name = f"p{sum(k.startswith('p') for k in arrays)}"
    arrays[name] = np.frombuffer(data, dtype=np.uint8)
    return {"pickle": name}


def _encode_ndarray(arr: np.ndarray, arrays: dict, names: dict) -> dict:
    name = names.get(("ndarray", id(arr)))
    if name is None:
        name = names[("ndarray", id(arr))] = str(len(names) - 1)
        arrays[name] = np.frombuffer(np.ascontiguousarray(arr).tobytes(), dtype=np.uint8)
    return {"ndarray": name, "dtype": arr.dtype.str, "shape": list(arr.shape)}


def _encode_tensor(t: Tensor, arrays: dict, names: dict) -> dict:
    name = names.get(id(t))
    if name is None:  # a tensor reached twice is stored once and loads as one tensor
        name = names[id(t)] = str(len(names) - 1)  # - 1: names["protocol"]
        host = t._host()
        if host.dtype.kind == "c":  # NOTE: stored as (real, imag) pairs: F32/F64, shape + [2]
            host = np.stack([host.real, host.imag], axis=-1)
        # NOTE: not np.ascontiguousarray, which turns 0-d arrays into 1-d ones
        arrays[name] = host if host.flags.c_contiguous else host.copy(order="C")
    entry: dict[str, Any] = {"tensor": name}
    if t.is_complex():
        entry["complex"] = True
    if t.device != CPU:
        entry["device"] = str(t.device)
    if t.requires_grad:
        entry["requires_grad"] = True
    if type(t) is Parameter:
        entry["parameter"] = True
    return entry


# --- load --------------------------------------------------------------------------------------
def load(f: PathOrFile, map_location: MapLocation = None, pickle_module: Any = None, *,
         weights_only: bool | None = None, mmap: bool | None = None, **kwargs) -> Any:
    """Load an object written by :func:`save`.

    ``map_location`` moves tensors: a device (``"cpu"``), a dict renaming saved devices
    (``{"cuda:0": "cpu"}``) or a function ``(tensor, saved_device_str) -> tensor``.
    ``weights_only`` (default True, as in PyTorch >= 2.6): pickled objects in the file are built
    only from allow-listed globals (``graphtorch.serialization.add_safe_globals``); False is the
    explicit opt-in to ordinary unpickling, which can run arbitrary code.
    """
    if kwargs:
        raise ArgumentError(f"load() got unexpected keyword arguments {sorted(kwargs)}")
    if pickle_module is not None and pickle_module is not pickle:
        raise ArgumentError("graphtorch.load unpickles with the standard pickle module only")
    if mmap:
        raise ArgumentError("graphtorch.load does not memory-map files (mmap=True)")
    if hasattr(f, "read"):
        data = f.read()
    else:
        with open(f, "rb") as src:
            data = src.read()
    header, body = _read_header(data)
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict):
        raise FormatError("'__metadata__' must be a JSON object of strings", member="header")
    arrays = {name: _read_array(name, info, body) for name, info in header.items()}
    if _STRUCTURE_KEY not in metadata:
        # a plain safetensors file, e.g. written by another framework: its tensors by name
        options = _LoadOptions(map_location, weights_only, 1)
        return {name: _restore_tensor({"tensor": name}, arrays, {}, options)
                for name in arrays}
    version = metadata.get(_VERSION_KEY)
    if not str(version).isdigit():
        raise FormatError(f"invalid format version {version!r}", member=_VERSION_KEY)
    if int(version) > FORMAT_VERSION:
        raise FormatError(f"format version {version} is newer than the supported version "
                          f"{FORMAT_VERSION}; upgrade graphtorch to load this file",
                          member=_VERSION_KEY)
    try:
        structure = json.loads(metadata[_STRUCTURE_KEY])
    except (json.JSONDecodeError, TypeError) as e:
        raise FormatError(f"not valid JSON ({e})", member=_STRUCTURE_KEY) from None
    return _decode(structure, arrays, {}, _LoadOptions(map_location, weights_only, int(version)))


def get_unsafe_globals_in_checkpoint(f: PathOrFile) -> list[str]:
    """The classes and functions in a ``save`` file that ``load(weights_only=True)`` would refuse
    (``module.name`` strings; the pickled entries' opcodes are read, nothing is unpickled)."""
    if hasattr(f, "read"):
        data = f.read()
    else:
        with open(f, "rb") as src:
            data = src.read()
    header, body = _read_header(data)
    header.pop("__metadata__", None)
    found: set[str] = set()
    for name, info in header.items():
        if name.startswith("p") and isinstance(info, dict) and info.get("dtype") == "U8":
            found |= unsafe_globals(_read_array(name, info, body).tobytes())
    return sorted(found)


class _LoadOptions:
    __slots__ = ("map_location", "weights_only", "defaulted", "version")

    def __init__(self, map_location: MapLocation, weights_only: bool | None, version: int):
        self.map_location, self.weights_only = map_location, weights_only is not False
        self.defaulted, self.version = weights_only is None, version


def _read_header(data: bytes) -> tuple[dict, memoryview]:
    if len(data) < 8:
        raise FormatError(f"file is {len(data)} bytes long, too short for a safetensors header "
                          "(is it a graphtorch.save file?)", member="header")
    if bytes(data[:4]) == b"PK\x03\x04":
        raise FormatError("this is a zip archive (a torch.save file or a TorchScript archive), "
                          "not a graphtorch.save file; in PyTorch, save a state_dict with "
                          "safetensors (safetensors.torch.save_file) and graphtorch.load reads it",
                          member="header")
    (n,) = struct.unpack("<Q", data[:8])
    if n > _MAX_HEADER or 8 + n > len(data):
        raise FormatError(f"header length {n} does not fit in a file of {len(data)} bytes: the "
                          "file is truncated or not a safetensors file", member="header")
    try:
        header = json.loads(bytes(data[8:8 + n]).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise FormatError(f"header is not valid JSON ({e})", member="header") from None
    if not isinstance(header, dict):
        raise FormatError("header must be a JSON object", member="header")
    return header, memoryview(data)[8 + n:]


def _read_array(name: str, info, body: memoryview) -> np.ndarray:
    member = f"tensor {name!r}"
    if not isinstance(info, dict) or not {"dtype", "shape", "data_offsets"} <= set(info):
        raise FormatError("entry needs 'dtype', 'shape' and 'data_offsets'", member=member)
    dt = _CODES.get(info["dtype"])
    if dt is None:
        raise FormatError(f"unsupported dtype {info['dtype']!r}; graphtorch reads "
                          f"{', '.join(_CODES)}", member=member)
    shape, offsets = info["shape"], info["data_offsets"]
    if not (isinstance(shape, list) and all(isinstance(s, int) and s >= 0 for s in shape)):
        raise FormatError(f"invalid shape {shape!r}", member=member)
    if not (isinstance(offsets, list) and len(offsets) == 2
            and all(isinstance(o, int) for o in offsets) and 0 <= offsets[0] <= offsets[1]):
        raise FormatError(f"invalid data_offsets {offsets!r}", member=member)
    start, end = offsets
    expected = int(np.prod(shape, dtype=np.int64)) * dt.itemsize
    if end - start != expected:
        raise FormatError(f"data_offsets {offsets} span {end - start} bytes but shape {shape} "
                          f"of {dt.name} needs {expected}", member=member)
    if end > len(body):
        raise FormatError(f"data ends at byte {end} past the end of the data section "
                          f"({len(body)} bytes): the file is truncated", member=member)
    return np.frombuffer(body[start:end], dtype=dt.np).reshape(shape).copy()


def _decode(node, arrays: dict, loaded: dict, options: _LoadOptions):
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if isinstance(node, dict) and "tensor" in node:
        return _restore_tensor(node, arrays, loaded, options)
    if isinstance(node, dict) and "ndarray" in node and options.version >= 2:
        return _restore_ndarray(node, arrays, loaded)
    if (isinstance(node, dict) and len(node) == 1 and isinstance(node.get("pickle"), str)
            and options.version >= 2):
        return _restore_pickled(node["pickle"], arrays, loaded, options)
    if isinstance(node, dict) and len(node) == 1:
        [(kind, value)] = node.items()
        if kind in ("dict", "ordered_dict") and isinstance(value, list):
            out = OrderedDict() if kind == "ordered_dict" else {}
            for item in value:
                if not (isinstance(item, list) and len(item) == 2):
                    raise FormatError(f"{kind} items must be [key, value] pairs, got {item!r}",
                                      member=_STRUCTURE_KEY)
                key = _decode(item[0], arrays, loaded, options)
                out[key] = _decode(item[1], arrays, loaded, options)
            return out
        if kind in ("list", "tuple") and isinstance(value, list):
            items = [_decode(v, arrays, loaded, options) for v in value]
            return items if kind == "list" else tuple(items)
        if kind == "float" and value in ("inf", "-inf", "nan"):
            return float(value)
        if kind == "dtype" and isinstance(value, str):
            return dtypes.from_name(value)
        if kind == "device" and isinstance(value, str):
            return as_device(value)
    raise FormatError(f"unrecognized node {json.dumps(node)[:80]}", member=_STRUCTURE_KEY)


def _restore_tensor(node: dict, arrays: dict, loaded: dict, options: _LoadOptions) -> Tensor:
    name = node["tensor"]
    if name in loaded:
        return loaded[name]
    if name not in arrays:
        raise FormatError(f"refers to tensor {name!r}, which the file does not contain",
                          member=_STRUCTURE_KEY)
    saved_device = node.get("device", "cpu")
    t = Tensor._wrap(_complex_pairs(name, arrays[name]) if node.get("complex") is True
                     else arrays[name], CPU)
    map_location = options.map_location
    if callable(map_location):
        t = map_location(t, saved_device)
    else:
        target = map_location
        if isinstance(map_location, dict):
            target = map_location.get(saved_device, saved_device)
        target = as_device(target if target is not None else saved_device)
        if target != CPU:
            t = t.to(target)
    if node.get("parameter"):
        t = Parameter(t, requires_grad=bool(node.get("requires_grad")))
    elif node.get("requires_grad"):
        t.requires_grad_(True)
    loaded[name] = t
    return t


def _complex_pairs(name: str, pairs: np.ndarray) -> np.ndarray:
    """A complex tensor's entry: float32/float64 (real, imag) pairs in a last dimension of 2."""
    if pairs.dtype not in (np.float32, np.float64) or pairs.ndim == 0 or pairs.shape[-1] != 2:
        raise FormatError(f"a complex tensor is stored as F32 or F64 pairs (last dimension 2), "
                          f"got {pairs.dtype} of shape {list(pairs.shape)}",
                          member=f"tensor {name!r}")
    out = np.empty(pairs.shape[:-1], np.complex64 if pairs.dtype == np.float32 else np.complex128)
    out.real, out.imag = pairs[..., 0], pairs[..., 1]
    return out


def _restore_ndarray(node: dict, arrays: dict, loaded: dict) -> np.ndarray:
    name, code, shape = node.get("ndarray"), node.get("dtype"), node.get("shape")
    key = ("ndarray", name)
    if key in loaded:
        return loaded[key]
    member = f"ndarray {name!r}"
    if name not in arrays:
        raise FormatError("the file does not contain this entry", member=member)
    if not (isinstance(code, str) and len(code) <= 8 and code[:1] in "<>|="
            and code[1:2] in _NDARRAY_KINDS and code[2:].isdigit()):
        raise FormatError(f"invalid numpy dtype {code!r}", member=member)
    if not (isinstance(shape, list) and all(isinstance(n, int) and n >= 0 for n in shape)):
        raise FormatError(f"invalid shape {shape!r}", member=member)
    dt = np.dtype(code)
    raw = arrays[name]
    if raw.dtype != np.uint8 or raw.size != int(np.prod(shape, dtype=np.int64)) * dt.itemsize:
        raise FormatError(f"{raw.size} bytes do not hold shape {shape} of {code}", member=member)
    loaded[key] = raw.view(dt).reshape(shape).copy()
    return loaded[key]


def _restore_pickled(name: str, arrays: dict, loaded: dict, options: _LoadOptions) -> Any:
    member = f"pickle {name!r}"
    raw = arrays.get(name)
    if raw is None or raw.dtype != np.uint8 or raw.ndim != 1:
        raise FormatError("the file does not contain this uint8 entry", member=member)

    def from_data(pid: Any) -> Any:
        if not (isinstance(pid, dict) and len(pid.keys() & {"tensor", "ndarray", "dtype",
                                                            "device"}) == 1):
            raise FormatError(f"invalid data reference {pid!r}", member=member)
        return _decode(pid, arrays, loaded, options)

    return unpickle_object(raw.tobytes(), from_data, options.weights_only, options.defaulted,
                           member)

