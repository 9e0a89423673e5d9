"""Model inputs for ``run`` and ``profile``: from .npz/.npy files or random by shape spec, and
flattening outputs to named arrays."""

from __future__ import annotations

import argparse
import re
import zipfile
import zlib
from dataclasses import dataclass

import numpy as np

from graphtorch import dtypes
from graphtorch.cli.errors import CLIError, UsageError
from graphtorch.errors import DTypeError
from graphtorch.ir.types import (
    BoolType,
    FloatType,
    IntType,
    NumberType,
    OptionalType,
    TensorType,
)
from graphtorch.tensor import Tensor, from_numpy

# NOTE: scalar argument types: the numpy dtype kinds each takes from a 0-d array, and the Python
# value it becomes (``Scalar`` takes the array's own: int for integers, float for floats)
_SCALARS = {IntType: ("iu", int), FloatType: ("iuf", float), BoolType: ("b", bool),
            NumberType: ("iuf", lambda a: a.item())}


@dataclass(frozen=True)
class ShapeSpec:
    """``name:5x8[:float32]`` from ``--shape``."""

    name: str
    shape: tuple[int, ...]
    dtype: str | None

    @staticmethod
    def parse(text: str) -> ShapeSpec:
        m = re.fullmatch(r"([^:]+):((?:\d+(?:x\d+)*)?|scalar)(?::(\w+))?", text.strip())
        if not m:
            raise UsageError(f"--shape {text!r}: expected NAME:DIMS[:DTYPE] like x:5x8 or "
                             "x:5x8:float32 (use NAME:scalar for a 0-d tensor)")
        dims = m.group(2)
        shape = () if dims in ("", "scalar") else tuple(int(d) for d in dims.split("x"))
        dtype = m.group(3)
        if dtype is not None and dtype not in dtypes._BY_NAME:
            raise UsageError(f"--shape {text!r}: unknown dtype {dtype!r}; expected one of "
                             f"{sorted(dtypes._BY_NAME)}")
        return ShapeSpec(m.group(1), shape, dtype)


DEFAULT_MAX_INPUT_BYTES = 1 << 30   # random inputs, all together: a hostile shape stops here
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def parse_bytes(text: str) -> int:
    """``--max-input-bytes``: ``1000``, ``512M``, ``2G`` or ``2GiB`` (units of 1024)."""
    m = re.fullmatch(r"\s*(\d+)\s*([kKmMgGtT]?)(?:i?[bB])?\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"expected a byte count like 1000000, 512M or 2G, "
                                         f"got {text!r}")
    return int(m.group(1)) * _UNITS[m.group(2).lower()]


@dataclass(frozen=True)
class RandomInput:
    """A random input still to be drawn: its size is checked against the cap first."""

    name: str
    shape: tuple[int, ...]
    dtype: str

    @property
    def nbytes(self) -> int:
        numel = 1
        for d in self.shape:
            numel *= d
        return numel * dtypes.from_name(self.dtype).itemsize


def draw_random(requests: list[RandomInput], rng: np.random.Generator,
                max_bytes: int) -> dict[str, np.ndarray]:
    """The random arrays of ``requests`` once their total size is known to fit ``max_bytes``."""
    total = sum(r.nbytes for r in requests)
    if total > max_bytes:
        biggest = max(requests, key=lambda r: r.nbytes)
        raise CLIError(f"random inputs would take {total} bytes, above the limit of "
                       f"{max_bytes} (--max-input-bytes); the largest is {biggest.name!r}: "
                       f"{biggest.dtype}{list(biggest.shape)}; pass inputs from a file "
                       f"(--inputs or --input) or raise --max-input-bytes")
    return {r.name: random_array(r.shape, r.dtype, rng) for r in requests}


def random_array(shape: tuple[int, ...], dtype: str, rng: np.random.Generator) -> np.ndarray:
    dt = dtypes.from_name(dtype)
    if dt.is_floating_point:
        return rng.standard_normal(shape).astype(dt.np)
    if dt is dtypes.bool_:
        return rng.integers(0, 2, shape).astype(np.bool_)
    return rng.integers(0, 10, shape).astype(dt.np)


def _read_error(what: str, path: str, kind: str, e: BaseException):
    if isinstance(e, FileNotFoundError):
        return CLIError(f"{what}: no such file: {path!r}")
    if isinstance(e, IsADirectoryError):
        return CLIError(f"{what}: {path!r} is a directory, not a {kind} file")
    return CLIError(f"{what}: cannot read {path!r} as {kind}: {' '.join(str(e).split())}")


# NOTE: what numpy raises on files that are not what they claim (zipfile.BadZipFile is not an
# OSError; zlib.error on damaged deflate streams)
_READ_ERRORS = (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error)


def load_npz(path: str, what: str) -> dict[str, np.ndarray]:
    """Named arrays of an .npz file; a .npy file (one array) is a data error saying what to do."""
    try:
        data = np.load(path, allow_pickle=False)
    except _READ_ERRORS as e:
        raise _read_error(what, path, ".npz", e) from None
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise CLIError(f"{what}: {path!r} holds one array (.npy), not named arrays (.npz); "
                       f"pass it as --input NAME={path}, or save the inputs with numpy.savez")
    try:
        with data:
            return {k: data[k] for k in data.files}
    except _READ_ERRORS as e:
        raise _read_error(what, path, ".npz", e) from None


def load_npy(path: str, what: str) -> np.ndarray:
    """The one array of a .npy file; an .npz file (named arrays) is a data error."""
    try:
        data = np.load(path, allow_pickle=False)
    except _READ_ERRORS as e:
        raise _read_error(what, path, ".npy", e) from None
    if not isinstance(data, np.ndarray):
        data.close()
        raise CLIError(f"{what}: {path!r} holds named arrays (.npz), not one array (.npy); "
                       f"pass it as --inputs {path}")
    return data


def check_input(name: str, arr: np.ndarray, t) -> np.ndarray:
    """``arr`` as a valid value of argument ``name : t``, or a data error naming the input."""

    where = f"input {name!r} : {t}"
    if type(t) in _SCALARS:
        if arr.ndim != 0:
            raise CLIError(f"{where} is a scalar, but the array given has shape "
                           f"{list(arr.shape)}; give a 0-d array (numpy.float64(2.5), "
                           f"numpy.array(3))")
        kinds, _ = _SCALARS[type(t)]
        if arr.dtype.kind not in kinds:
            raise CLIError(f"{where} cannot take a value of dtype {arr.dtype}")
        return arr
    if not _from_array(t):
        raise CLIError(f"{where} cannot be given as an array (only tensors and int, float and "
                       f"bool scalars can); leave it out to use its default, if it has one")
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    try:
        dtypes.from_numpy(arr.dtype)
    except DTypeError as e:
        raise CLIError(f"{where}: {e}") from None
    return arr


def _from_array(t) -> bool:
    """Whether an argument of IR type ``t`` can be given as an array."""
    if type(t) in _SCALARS:
        return True
    return isinstance(t.elem if isinstance(t, OptionalType) else t, TensorType)


def resolve_inputs(graph, arg_names: list[str], first: int, args) -> dict[str, np.ndarray]:
    """One array per method argument, from --inputs, --input, --shape or the IR type."""
    params = dict(zip(arg_names, graph.inputs[first:]))
    arrays: dict[str, np.ndarray] = {}
    if args.inputs:
        arrays.update(load_npz(args.inputs, "--inputs"))
    for item in args.input or []:
        name, eq, path = item.partition("=")
        if not eq or not name:
            raise UsageError(f"--input {item!r}: expected NAME=FILE.npy")
        arrays[name] = load_npy(path, f"--input {name}")
    specs = [ShapeSpec.parse(s) for s in args.shape or []]
    requests: list[RandomInput] = []
    for spec in specs:
        if spec.name in arrays:
            raise UsageError(f"input {spec.name!r} is given both as a file and by --shape")
        t = params.get(spec.name)
        default = t.type.dtype.name if t is not None and isinstance(t.type, TensorType) \
            and t.type.dtype is not None else "float32"
        requests.append(RandomInput(spec.name, spec.shape, spec.dtype or default))
    given = set(arrays) | {r.name for r in requests}
    unknown = sorted(given - set(params))
    if unknown:
        raise CLIError(f"the model has no input named {unknown[0]!r}; its inputs are "
                       f"{arg_names}")
    arrays = {name: check_input(name, a, params[name].type) for name, a in arrays.items()}
    defaults = getattr(graph, "defaults", None) or {}
    for name, v in params.items():
        if name in given or name in defaults:   # an argument left out takes its default
            continue
        t = v.type
        if isinstance(t, TensorType) and t.is_complete:
            requests.append(RandomInput(name, tuple(t.shape), t.dtype.name))
            continue
        if not _from_array(t):
            raise CLIError(f"input {name!r} : {t} needs a value, and values of this type cannot "
                           f"be given from the command line (only tensors and int, float and "
                           f"bool scalars can)")
        dims = "DIMS[:DTYPE]" if isinstance(t, TensorType) else "scalar"
        raise CLIError(f"input {name!r} : {t} needs a value: pass --inputs FILE.npz, --input "
                       f"{name}=FILE.npy or --shape {name}:{dims}")
    max_bytes = getattr(args, "max_input_bytes", DEFAULT_MAX_INPUT_BYTES)
    rng = np.random.default_rng(args.seed)
    arrays.update(draw_random(requests, rng, max_bytes))
    return {name: arrays[name] for name in arg_names if name in arrays}


def to_call_args(arrays: dict[str, np.ndarray], graph, arg_names: list[str], first: int,
                 device) -> list:
    """Arrays as the Python values the method takes (tensors, or ints/floats for scalars);
    arguments without an array take their default value."""
    params = dict(zip(arg_names, graph.inputs[first:]))
    defaults = getattr(graph, "defaults", None) or {}
    out = []
    for name in arg_names:
        if name not in arrays:
            value = defaults[name]
            out.append(value.to(device) if isinstance(value, Tensor) else value)
            continue
        arr = arrays[name]
        t = params[name].type
        if type(t) in _SCALARS:
            out.append(_SCALARS[type(t)][1](arr))
        else:
            out.append(from_numpy(np.ascontiguousarray(arr)).to(device))
    return out


def flatten_outputs(result) -> dict[str, np.ndarray]:
    """Named host arrays of a method's result: ``output``, or ``output0``, ``output1`` ...

    Tuples, lists and dicts (by sorted key) are flattened in order; a ``None`` is left out
    (its name is skipped); numbers, bools and strings become 0-d arrays. Nothing becomes an
    object array, so the outputs are written and read without pickle."""
    flat: list = []

    def visit(x) -> None:
        if isinstance(x, (tuple, list)):
            for y in x:
                visit(y)
        elif isinstance(x, dict):
            for k in sorted(x):
                visit(x[k])
        else:
            flat.append(x)

    visit(result)
    arrays: list[np.ndarray | None] = []
    for i, x in enumerate(flat):
        if x is None:
            arrays.append(None)
        elif isinstance(x, Tensor):
            arrays.append(x.detach()._host())
        elif isinstance(x, (bool, int, float, str)):
            arrays.append(np.asarray(x))
        else:
            raise CLIError(f"output {i} of the model is a {type(x).__name__}, which cannot be "
                           f"reported as an array")
    if len(arrays) == 1 and not isinstance(result, (tuple, list, dict)):
        return {} if arrays[0] is None else {"output": arrays[0]}
    return {f"output{i}": a for i, a in enumerate(arrays) if a is not None}
