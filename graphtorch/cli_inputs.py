"""Model inputs for ``run`` and ``profile``: from .npz/.npy files or random by shape spec, and
flattening outputs to named arrays."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from graphtorch import dtypes


@dataclass(frozen=True)
class ShapeSpec:
    """``name:5x8[:float32]`` from ``--shape``."""

    name: str
    shape: tuple[int, ...]
    dtype: str | None

    @staticmethod
    def parse(text: str) -> ShapeSpec:
        from graphtorch.cli import UsageError

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


MAX_RANDOM_ELEMENTS = 1 << 28   # 1 GiB of float32: a shape from a hostile archive stops here


def random_array(shape: tuple[int, ...], dtype: str, rng: np.random.Generator,
                 name: str = "input") -> np.ndarray:
    from graphtorch.cli import CLIError

    numel = 1
    for d in shape:
        numel *= d
    if numel > MAX_RANDOM_ELEMENTS:
        raise CLIError(f"input {name!r}: a random tensor of shape {list(shape)} would have "
                       f"{numel} elements, above the limit of {MAX_RANDOM_ELEMENTS}; pass the "
                       f"input from a file (--inputs or --input)")
    dt = dtypes.from_name(dtype)
    if dt.is_floating_point:
        return rng.standard_normal(shape).astype(dt.np)
    if dt is dtypes.bool_:
        return rng.integers(0, 2, shape).astype(np.bool_)
    return rng.integers(0, 10, shape).astype(dt.np)


def _npy(path: str, what: str) -> np.ndarray:
    from graphtorch.cli import CLIError

    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise CLIError(f"{what}: no such file: {path!r}") from None
    except (ValueError, OSError, EOFError) as e:
        raise CLIError(f"{what}: cannot read {path!r} as .npy: {e}") from None


def resolve_inputs(graph, arg_names: list[str], first: int, args) -> dict[str, np.ndarray]:
    """One array per method argument, from --inputs, --input, --shape or the IR type."""
    from graphtorch.cli import CLIError, UsageError
    from graphtorch.ir.types import TensorType

    params = dict(zip(arg_names, graph.inputs[first:]))
    arrays: dict[str, np.ndarray] = {}
    if args.inputs:
        try:
            with np.load(args.inputs, allow_pickle=False) as z:
                arrays.update({k: z[k] for k in z.files})
        except FileNotFoundError:
            raise CLIError(f"--inputs: no such file: {args.inputs!r}") from None
        except (ValueError, OSError, EOFError) as e:
            raise CLIError(f"--inputs: cannot read {args.inputs!r} as .npz: {e}") from None
    for item in args.input or []:
        name, eq, path = item.partition("=")
        if not eq or not name:
            raise UsageError(f"--input {item!r}: expected NAME=FILE.npy")
        arrays[name] = _npy(path, f"--input {name}")
    rng = np.random.default_rng(args.seed)
    specs = [ShapeSpec.parse(s) for s in args.shape or []]
    for spec in specs:
        if spec.name in arrays:
            raise UsageError(f"input {spec.name!r} is given both as a file and by --shape")
        t = params.get(spec.name)
        default = t.type.dtype.name if t is not None and isinstance(t.type, TensorType) \
            and t.type.dtype is not None else "float32"
        arrays[spec.name] = random_array(spec.shape, spec.dtype or default, rng, spec.name)
    unknown = sorted(set(arrays) - set(params))
    if unknown:
        raise CLIError(f"the model has no input named {unknown[0]!r}; its inputs are "
                       f"{arg_names}")
    defaults = getattr(graph, "defaults", None) or {}
    for name, v in params.items():
        if name in arrays or name in defaults:   # an argument left out takes its default
            continue
        t = v.type
        if isinstance(t, TensorType) and t.is_complete:
            arrays[name] = random_array(tuple(t.shape), t.dtype.name, rng, name)
            continue
        dims = "DIMS[:DTYPE]" if isinstance(t, TensorType) else "scalar"
        raise CLIError(f"input {name!r} : {t} needs a value: pass --inputs FILE.npz, --input "
                       f"{name}=FILE.npy or --shape {name}:{dims}")
    return {name: arrays[name] for name in arg_names if name in arrays}


def to_call_args(arrays: dict[str, np.ndarray], graph, arg_names: list[str], first: int,
                 device) -> list:
    """Arrays as the Python values the method takes (tensors, or ints/floats for scalars);
    arguments without an array take their default value."""
    from graphtorch.ir.types import BoolType, FloatType, IntType
    from graphtorch.tensor import Tensor, from_numpy

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
        if isinstance(t, (IntType, FloatType, BoolType)):
            out.append({IntType: int, FloatType: float, BoolType: bool}[type(t)](arr))
        else:
            out.append(from_numpy(np.ascontiguousarray(arr)).to(device))
    return out


def flatten_outputs(result) -> dict[str, np.ndarray]:
    """Named host arrays of a method's result: ``output``, or ``output0``, ``output1`` ..."""
    from graphtorch.tensor import Tensor

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
    arrays = [x.detach()._host() if isinstance(x, Tensor) else np.asarray(x) for x in flat]
    if len(arrays) == 1 and not isinstance(result, (tuple, list, dict)):
        return {"output": arrays[0]}
    return {f"output{i}": a for i, a in enumerate(arrays)}
