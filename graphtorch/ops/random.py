"""Random numbers: generators, ``manual_seed`` and the registry's random ops.

graphtorch draws from numpy's PCG64; sequences differ from PyTorch's (same distributions, same
seeding API). On CUDA, values are drawn on the host and copied, so a seed gives the same numbers
on every device.
"""

from __future__ import annotations

import numpy as np

from graphtorch import dtypes
from graphtorch.device import as_device
from graphtorch.ops.creation import tensor
from graphtorch.ops.meta import TensorMeta
from graphtorch.ops.op_helpers import SampleMaker
from graphtorch.ops.registry import OpKind, Promotion, SampleInput, Saves, register


class Generator:
    """A random-number generator (``graphtorch.Generator().manual_seed(0)``)."""

    def __init__(self, device="cpu"):
        self.device = as_device(device)
        self._seed = 67280421310721
        self._rng = np.random.default_rng(self._seed)

    def manual_seed(self, seed: int) -> Generator:
        self._seed = int(seed)
        self._rng = np.random.default_rng(self._seed)
        return self

    def seed(self) -> int:
        s = int(np.random.SeedSequence().entropy % (2**63))
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self):
        state = self._rng.bit_generator.state
        words = [state["state"]["state"], state["state"]["inc"], state["has_uint32"],
                 state["uinteger"]]
        data = []
        for w in words:
            data.extend(int(w).to_bytes(16, "little"))
        return tensor(data, dtype=dtypes.uint8)

    def set_state(self, new_state) -> None:
        raw = bytes(np.asarray(new_state, dtype=np.uint8).tolist())
        words = [int.from_bytes(raw[i:i + 16], "little") for i in range(0, 64, 16)]
        st = self._rng.bit_generator.state
        st["state"] = {"state": words[0], "inc": words[1]}
        st["has_uint32"], st["uinteger"] = words[2], words[3]
        self._rng.bit_generator.state = st


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed the default generator (``graphtorch.manual_seed(0)``)."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(state) -> None:
    default_generator.set_state(state)


def _rng(generator: Generator | None):
    return (generator or default_generator)._rng


def _dt(dtype):
    return dtypes.as_dtype(dtype) if dtype is not None else dtypes.get_default_dtype()


def _to_dev(xp, arr):
    return arr if xp is np else xp.asarray(arr)


def _size(size):
    return (size,) if isinstance(size, int) else tuple(int(s) for s in size)


_OPTS = ("*, Generator? generator=None, ScalarType? dtype=None, Device? device=None, "
         "bool requires_grad=False")


def _meta(size, *rest):
    dtype = rest[-3] if len(rest) >= 3 else None
    return TensorMeta(_dt(dtype), _size(size), as_device(rest[-2] if len(rest) >= 2 else None))


def _float_dt(dtype, kernel_name: str) -> dtypes.dtype:
    dt = _dt(dtype)
    if not dt.is_floating_point:
        # NOTE: PyTorch's own wording, naming the kernel that lacks the dtype
        raise NotImplementedError(f'"{kernel_name}" not implemented for '
                                  f"'{_TORCH_TYPE_NAMES[dt.name]}'")
    return dt


_TORCH_TYPE_NAMES = dtypes.SCALAR_TYPE_NAMES


def _float_samples(dtype=dtypes.float32):
    if not dtype.is_floating_point:
        return []  # rand(dtype=int64) raises in PyTorch as here
    return [SampleInput(([2, 3],), {"dtype": dtype})]


def _random(schema: str, kernel, meta=_meta, samples=None):
    return register(schema, OpKind.RANDOM, kernel=kernel, meta=meta, differentiable=False,
                    saves=Saves.NOTHING, promotion=Promotion.NONE,
                    samples=samples or _float_samples)


_random(f"rand(int[] size, {_OPTS}) -> Tensor",
        lambda xp, size, gen, dtype, device, rg: _to_dev(
            xp, _rng(gen).random(_size(size)).astype(
                _float_dt(dtype, "check_uniform_bounds").np)))
_random(f"randn(int[] size, {_OPTS}) -> Tensor",
        lambda xp, size, gen, dtype, device, rg: _to_dev(
            xp, _rng(gen).standard_normal(_size(size)).astype(
                _float_dt(dtype, "normal_kernel_cpu").np)))


def _randint(xp, low, high, size, gen, dtype, device, rg):
    if high is None:
        low, high = 0, low
    if high <= low:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} "
                           f">= to={high}")
    dt = dtypes.as_dtype(dtype) if dtype is not None else dtypes.int64
    return _to_dev(xp, _rng(gen).integers(low, high, size=_size(size)).astype(dt.np))


_random(f"randint(int low, int? high, int[] size, {_OPTS}) -> Tensor", _randint,
        meta=lambda low, high, size, gen=None, dtype=None, device=None, rg=False: TensorMeta(
            dtypes.as_dtype(dtype) if dtype is not None else dtypes.int64, _size(size),
            as_device(device)),
        samples=lambda dtype=dtypes.float32: [SampleInput((0, 10, [3, 2]))])


def _normal(xp, mean, std, size, gen, dtype, device, rg):
    return _to_dev(xp, _rng(gen).normal(mean, std, size=_size(size)).astype(_dt(dtype).np))


_random(f"normal(float mean, float std, int[] size, {_OPTS}) -> Tensor", _normal,
        meta=lambda mean, std, size, gen=None, dtype=None, device=None, rg=False: TensorMeta(
            _dt(dtype), _size(size), as_device(device)),
        samples=lambda dtype=dtypes.float32: [SampleInput((1.0, 2.0, [3, 2]))])


def _randperm(xp, n, gen, dtype, device, rg):
    dt = dtypes.as_dtype(dtype) if dtype is not None else dtypes.int64
    return _to_dev(xp, _rng(gen).permutation(n).astype(dt.np))


_random(f"randperm(int n, {_OPTS}) -> Tensor", _randperm,
        meta=lambda n, gen=None, dtype=None, device=None, rg=False: TensorMeta(
            dtypes.as_dtype(dtype) if dtype is not None else dtypes.int64, (n,),
            as_device(device)),
        samples=lambda dtype=dtypes.float32: [SampleInput((5,))])


def _bernoulli(xp, p, gen):
    if p.dtype.kind != "f":
        raise NotImplementedError('"bernoulli_tensor_cpu_p_" not implemented for '
                                  f"'{_TORCH_TYPE_NAMES[dtypes.from_numpy(p.dtype).name]}'")
    draws = _rng(gen).random(tuple(p.shape))
    host = p if xp is np else p.get()
    return _to_dev(xp, (draws < host).astype(p.dtype))


register("bernoulli(Tensor self, *, Generator? generator=None) -> Tensor", OpKind.RANDOM,
         kernel=_bernoulli, meta=lambda p, gen=None: TensorMeta(p.dtype, tuple(p.shape), p.device),
         differentiable=False, saves=Saves.NOTHING,
         samples=lambda dtype=dtypes.float32: [
             SampleInput((SampleMaker(31).tensor((3, 3), dtype, 0, 1),))]
         if dtype.is_floating_point else [])


def _multinomial(xp, probs, n, replacement, gen):
    if probs.dtype.kind != "f":
        raise RuntimeError("multinomial only supports floating-point dtypes for input, got: "
                           f"{_TORCH_TYPE_NAMES[dtypes.from_numpy(probs.dtype).name]}")
    host = probs if xp is np else probs.get()
    p = np.atleast_2d(host).astype(np.float64)
    rng = _rng(gen)
    rows = []
    for row in p:
        row = row / row.sum()
        rows.append(rng.choice(len(row), size=n, replace=replacement, p=row))
    out = np.asarray(rows, dtype=np.int64)
    return _to_dev(xp, out if host.ndim == 2 else out[0])


register("multinomial(Tensor self, int num_samples, bool replacement=False, *, "
         "Generator? generator=None) -> Tensor", OpKind.RANDOM, kernel=_multinomial,
         meta=lambda p, n, r=False, g=None: TensorMeta(dtypes.int64, tuple(p.shape[:-1]) + (n,),
                                                       p.device),
         differentiable=False, saves=Saves.NOTHING,
         samples=lambda dtype=dtypes.float32: [
             SampleInput((SampleMaker(32).tensor((2, 4), dtype, 0.1, 1), 3))]
         if dtype.is_floating_point else [])


# --- *_like ---------------------------------------------------------------------------------------
def _like_kernel(draw, kernel_name: str):
    def kernel(xp, x, gen, dtype, device, rg):
        dt = _float_dt(dtype if dtype is not None else dtypes.from_numpy(x.dtype), kernel_name)
        return _to_dev(xp, draw(_rng(gen), tuple(x.shape)).astype(dt.np))

    return kernel


def _like_meta(x, gen=None, dtype=None, device=None, rg=False):
    return TensorMeta(dtypes.as_dtype(dtype) if dtype is not None else x.dtype, tuple(x.shape),
                      as_device(device) if device is not None else x.device)


def _like_samples(dtype=dtypes.float32):
    return [SampleInput((SampleMaker(33).tensor((2, 3), dtype),))] if dtype.is_floating_point \
        else []


for _name, _draw, _kname in (("rand_like", lambda r, s: r.random(s), "check_uniform_bounds"),
                             ("randn_like", lambda r, s: r.standard_normal(s),
                              "normal_kernel_cpu")):
    register(f"{_name}(Tensor input, {_OPTS}) -> Tensor", OpKind.RANDOM,
             kernel=_like_kernel(_draw, _kname), meta=_like_meta, differentiable=False,
             saves=Saves.NOTHING, promotion=Promotion.NONE, samples=_like_samples)
