"""Language features TorchScript programs use: the ops they call (``tril_indices``,
``triu_indices``, ``rsub``, ``narrow_copy``, ``Tensor.layout``, memory formats).

Each scripted function is compared with calling the same Python function eagerly, and the eager
ops with real PyTorch where it is installed.
"""

import numpy as np
import pytest

import graphtorch as gt


def same(fn, *cases):
    """``fn`` scripted gives what ``fn`` gives in Python, for each tuple of arguments."""
    sfn = gt.jit.script(fn)
    for args in cases:
        want, got = fn(*args), sfn(*args)
        if isinstance(want, gt.Tensor):
            assert got.dtype == want.dtype
            np.testing.assert_array_equal(got.numpy(), want.numpy())
        else:
            assert got == want and type(got) is type(want), (args, got, want)
    return sfn


# -- ops -------------------------------------------------------------------------------------------

def tri(n: int, m: int, k: int):
    return gt.tril_indices(n, m, k), gt.triu_indices(n, m, k)


def test_tri_indices_scripted_match_eager_and_mask():
    sfn = gt.jit.script(tri)
    for n, m, k in [(3, 3, 0), (4, 2, 1), (2, 5, -1), (0, 3, 0), (3, 3, 7)]:
        lo, up = sfn(n, m, k)
        elo, eup = tri(n, m, k)
        np.testing.assert_array_equal(lo.numpy(), elo.numpy())
        np.testing.assert_array_equal(up.numpy(), eup.numpy())
        assert lo.dtype == gt.int64
        want_lo = np.stack(np.nonzero(np.tril(np.ones((n, m)), k)))
        want_up = np.stack(np.nonzero(np.triu(np.ones((n, m)), k)))
        np.testing.assert_array_equal(lo.numpy(), want_lo.reshape(2, -1))
        np.testing.assert_array_equal(up.numpy(), want_up.reshape(2, -1))


def rsub_narrow(x, y):
    return gt.rsub(x, y), gt.rsub(x, y, alpha=2), gt.rsub(x, 3.0), x.narrow_copy(1, 1, 2)


def test_rsub_and_narrow_copy_scripted_match_eager():
    x = gt.arange(12.0).reshape(3, 4)
    y = gt.ones(3, 4) * 5
    got, want = gt.jit.script(rsub_narrow)(x, y), rsub_narrow(x, y)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.numpy(), w.numpy())
    np.testing.assert_allclose(want[0].numpy(), 5 - np.arange(12.0).reshape(3, 4))
    np.testing.assert_allclose(want[1].numpy(), 5 - 2 * np.arange(12.0).reshape(3, 4))
    nc = want[3]
    nc.add_(1)  # a copy: the source is unchanged
    np.testing.assert_allclose(x.numpy(), np.arange(12.0).reshape(3, 4))


def test_rsub_gradients():
    x = gt.tensor([1.0, 2.0], requires_grad=True)
    y = gt.tensor([3.0, 4.0], requires_grad=True)
    gt.rsub(x, y, alpha=3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [-3.0, -3.0])
    np.testing.assert_allclose(y.grad.numpy(), [1.0, 1.0])


def test_layout_and_memory_formats():
    x = gt.arange(24.0).reshape(1, 2, 3, 4)
    assert x.layout is gt.strided and repr(gt.strided) == "graphtorch.strided"
    for fmt in (gt.contiguous_format, gt.channels_last, gt.preserve_format):
        np.testing.assert_array_equal(x.contiguous(memory_format=fmt).numpy(), x.numpy())
    np.testing.assert_array_equal(x.to(memory_format=gt.channels_last).numpy(), x.numpy())


@pytest.mark.torch
def test_ops_match_pytorch():
    torch = pytest.importorskip("torch")
    for n, m, k in [(3, 3, 0), (4, 2, 1), (2, 5, -1)]:
        np.testing.assert_array_equal(gt.tril_indices(n, m, k).numpy(),
                                      torch.tril_indices(n, m, k).numpy())
        np.testing.assert_array_equal(gt.triu_indices(n, m, k).numpy(),
                                      torch.triu_indices(n, m, k).numpy())
    a = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(gt.rsub(gt.tensor(a), gt.tensor(a * 3), alpha=2).numpy(),
                               torch.rsub(torch.tensor(a), torch.tensor(a * 3), alpha=2).numpy())
    np.testing.assert_allclose(gt.tensor(a).narrow_copy(1, 1, 2).numpy(),
                               torch.tensor(a).narrow_copy(1, 1, 2).numpy())
