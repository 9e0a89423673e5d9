"""Complex numbers in script: cmath, complex tensors as values, their attributes and factories."""

from __future__ import annotations

import cmath
import io
import math

import pytest

import graphtorch as gt
from graphtorch import Tensor
from graphtorch.errors import DTypeError


def _same(a, b) -> bool:
    if isinstance(a, complex) and isinstance(b, complex):
        return all(x == y or (math.isnan(x) and math.isnan(y))
                   for x, y in ((a.real, b.real), (a.imag, b.imag)))
    return a == b


def _cmath_log(z: complex) -> complex:
    return cmath.log(z)


def _cmath_phase(z: complex) -> float:
    return cmath.phase(z)


def _cmath_isnan(z: complex) -> bool:
    return cmath.isnan(z)


def _cmath_rect(r: float, phi: float) -> complex:
    return cmath.rect(r, phi)


def _cmath_chain(z: complex) -> complex:
    return cmath.sqrt(cmath.exp(z) * 2j) + cmath.atanh(z / 4) - abs(z)


@pytest.mark.parametrize("fn,args", [
    (_cmath_log, (1 - 2j,)), (_cmath_log, (-3 + 0j,)), (_cmath_phase, (-1 - 0j,)),
    (_cmath_isnan, (complex(math.nan, 1),)), (_cmath_isnan, (1j,)), (_cmath_rect, (2.0, 0.5)),
    (_cmath_chain, (0.5 + 0.25j,)),
])
def test_cmath_functions_match_python(fn, args):
    scripted = gt.jit.script(fn)
    for _ in range(3):  # profiling and optimized runs too
        assert _same(scripted(*args), fn(*args))


def test_cmath_domain_error_raises_as_python():
    scripted = gt.jit.script(_cmath_log)
    with pytest.raises(Exception, match="math domain error"):
        scripted(0j)


def _complex_constants(k: int) -> complex:
    if k == 2:
        return k + cmath.infj
    return k + cmath.nanj + cmath.pi


def test_cmath_constants_survive_save_and_load():
    scripted = gt.jit.script(_complex_constants)
    buf = io.BytesIO()
    gt.jit.save(scripted, buf)
    buf.seek(0)
    loaded = gt.jit.load(buf)
    for k in (2, 3):
        assert _same(loaded(k), _complex_constants(k)) and _same(scripted(k), loaded(k))


def _parts(x: Tensor):
    return x.real, x.imag, x.H, x.mH, x.conj(), x.abs(), x.angle()


def _h(x: Tensor) -> Tensor:
    return x.H


def test_complex_tensor_attributes_match_eager():
    scripted = gt.jit.script(_parts)
    z = gt.tensor([[1 + 2j, 3 - 1j], [0.5j, -2.0]])
    for _ in range(3):
        for got, want in zip(scripted(z), _parts(z)):
            assert got.dtype is want.dtype and got.tolist() == want.tolist()
    h = scripted(z)[2]
    assert h.tolist() == [[1 - 2j, -0.5j], [3 + 1j, -2 - 0j]]   # H conjugates
    real = gt.ones(2, 3)
    assert gt.jit.script(_h)(real).tolist() == real.T.tolist()   # H of a real tensor: its T


def _factories(x: complex, y: Tensor):
    a = gt.tensor(x)
    b = gt.tensor(1j, dtype=gt.complex128)
    c = gt.as_tensor(y, dtype=gt.cfloat)
    return a, b, c, y * x, y * 2j, gt.zeros(2, dtype=gt.cdouble), gt.complex(y, y)


def test_complex_factories_and_scalars_match_eager():
    scripted = gt.jit.script(_factories)
    y = gt.tensor([1.0, -2.0])
    for _ in range(3):
        for got, want in zip(scripted(1 - 1j, y), _factories(1 - 1j, y)):
            assert got.dtype is want.dtype and got.tolist() == want.tolist()


def _to_list(x: Tensor) -> list[list[complex]]:
    return gt.jit.annotate(list[list[complex]], x.tolist())


def test_tolist_of_a_complex_tensor():
    z = gt.tensor([[1 + 2j], [3j]], dtype=gt.cdouble)
    assert gt.jit.script(_to_list)(z) == [[1 + 2j], [3j]]


def _less(x: Tensor, y: Tensor):
    return x < y


def test_ops_refusing_complex_refuse_in_script_too():
    scripted = gt.jit.script(_less)
    with pytest.raises(DTypeError, match="not implemented for 'ComplexFloat'"):
        scripted(gt.tensor([1j]), gt.tensor([2j]))


def _complex_branch(x: Tensor) -> Tensor:
    z = gt.complex(x, x * 2)
    return (z * z).real.sum() + x.sum()


def _view_branch(x: Tensor) -> Tensor:
    z = x.to(gt.complex64) * x
    return z.real.sum() + gt.view_as_real(z).sum()


@pytest.mark.parametrize("fn", [_complex_branch, _view_branch])
def test_compiled_autograd_refuses_complex_paths_on_every_call(fn):
    """Regression: the compiled backward dropped the complex branch (a wrong gradient)."""
    scripted = gt.jit.script(fn)
    for _ in range(4):
        x = gt.tensor([1.0, 2.0], requires_grad=True)
        with pytest.raises(gt.errors.AutogradError, match="autograd through complex tensors"):
            scripted(x).backward()
    with gt.no_grad():
        x = gt.tensor([1.0, 2.0])
        assert scripted(x).item() == pytest.approx(fn(x).item())


def _complex_out(real: Tensor, imag: Tensor, out: Tensor) -> Tensor:
    return gt.complex(real, imag, out=out)


def test_out_arguments_write_as_eager():
    scripted = gt.jit.script(_complex_out)
    for fn in (_complex_out, scripted):   # eager and script write it
        out = gt.empty(2, dtype=gt.complex64)
        assert fn(gt.ones(2), gt.ones(2), out) is out and out.tolist() == [1 + 1j] * 2
        with pytest.raises(DTypeError, match="result type ComplexFloat can't be cast to the "
                                             "desired output type Float"):
            fn(gt.ones(2), gt.ones(2), gt.empty(2))


def _fusable(x: Tensor, y: Tensor):
    return ((x * y + x).exp() * 2 - y).sum(), (x.abs() + 1).relu()


@pytest.mark.parametrize("backend", ["auto", "triton", "interpreter"])
def test_fusion_backends_leave_complex_to_the_ops(backend, monkeypatch):
    """Triton has no complex type: a fusion group on complex tensors runs its ops instead."""
    monkeypatch.setenv("GT_FUSION_BACKEND", backend)
    scripted = gt.jit.script(_fusable)
    x = gt.tensor([[1 + 2j, 0.5 - 1j], [2j, -1.0]])
    y = gt.tensor([[0.5j, 1.0], [1 - 1j, 2 + 0.5j]])
    want = _fusable(x, y)
    for _ in range(4):
        for got, ref in zip(scripted(x, y), want):
            assert got.dtype is ref.dtype
            assert got.numpy() == pytest.approx(ref.numpy(), rel=1e-5)
