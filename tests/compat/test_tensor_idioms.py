"""Everyday tensor idioms from PyTorch scripts, run under both frameworks."""

from __future__ import annotations

import numpy as np
import pytest

from tests.compat.harness import run_both

pytestmark = pytest.mark.torch


def _dtype_name(dt) -> str:
    return str(dt).split(".")[-1]


def classification_idioms(torch, logits_np, labels_np):
    logits, labels = torch.tensor(logits_np), torch.tensor(labels_np)
    out = {}
    out["accuracy"] = (logits.argmax(dim=1) == labels).sum().item() / len(labels)
    out["accuracy_float"] = (logits.argmax(1) == labels).float().mean()
    values, indices = logits.max(dim=1)
    out["max"] = [values, indices, torch.max(logits, 1).indices]
    top = logits.topk(2, dim=1)
    out["topk"] = [top.values, top.indices]
    out["top2_correct"] = (top.indices == labels.unsqueeze(1)).any(dim=1).sum().item()
    out["one_hot"] = torch.nn.functional.one_hot(labels, num_classes=4)
    out["one_hot_dtype"] = _dtype_name(out["one_hot"].dtype)
    out["gather"] = logits.gather(1, labels.view(-1, 1)).squeeze(1)
    out["log_softmax_pick"] = torch.log_softmax(logits, dim=-1)[torch.arange(len(labels)), labels]
    out["softmax_sum"] = torch.softmax(logits, dim=1).sum(dim=1)
    out["masked_fill"] = logits.masked_fill(logits < 0, float("-inf")).softmax(-1)
    out["where"] = torch.where(logits > 0, logits, torch.zeros_like(logits))
    out["cumsum"] = torch.cumsum(logits, dim=0)
    out["cumsum_int"] = labels.cumsum(0)
    out["sort"] = list(torch.sort(logits[:, 0], descending=True))
    out["argsort"] = logits[:, 1].argsort()
    out["nonzero"] = (labels == 1).nonzero()
    out["nonzero_squeeze"] = (labels == 1).nonzero().squeeze(-1)
    out["bool_index"] = logits[labels == 2]
    out["count"] = (labels == 0).sum()
    out["count_dtype"] = _dtype_name(out["count"].dtype)
    out["confusion"] = torch.zeros(4, 4, dtype=torch.long)
    for t, p in zip(labels.tolist(), logits.argmax(1).tolist()):
        out["confusion"][t, p] += 1
    return out


def test_classification_idioms():
    rng = np.random.default_rng(10)
    run_both(classification_idioms, rng.standard_normal((12, 4)).astype(np.float32),
             rng.integers(0, 4, 12).astype(np.int64))


def shape_idioms(torch, x_np):
    x = torch.tensor(x_np)
    out = {}
    out["shape"] = [tuple(x.shape), x.size(1), x.dim(), x.numel(), len(x)]
    out["view"] = x.view(2, -1)
    out["reshape"] = x.permute(2, 0, 1).reshape(4, -1)
    out["contiguous"] = x.transpose(0, 1).contiguous().view(-1)
    out["flatten"] = [x.flatten(), x.flatten(1), torch.flatten(x, 0, 1)]
    out["squeeze"] = [x[:, :1].squeeze(1), x.unsqueeze(0).shape, x[None, ..., None].shape]
    out["expand"] = x[:, :, :1].expand(-1, -1, 3)
    out["repeat"] = x[:1].repeat(2, 1, 1)
    out["cat_stack"] = [torch.cat([x, x], dim=-1), torch.stack([x, x], dim=1)]
    out["chunk"] = list(x.chunk(2, dim=2))
    out["split"] = list(torch.split(x, [1, 2], dim=1))
    out["unbind"] = list(x.unbind(0))
    out["T"] = x[0].T
    out["mT"] = x.mT
    out["slicing"] = [x[:, 1:, ::2], x[-1], x[..., 0], x[0, [0, 2]], x[:, None, 1]]
    out["flip"] = x.flip(0)
    out["roll"] = torch.roll(x, 1, dims=2)
    out["tril"] = torch.tril(torch.ones(3, 3))
    out["diag_mask"] = torch.triu(torch.ones(4, 4, dtype=torch.bool), diagonal=1)
    out["einsum"] = [torch.einsum("bij,bkj->bik", x, x), torch.einsum("ijk->k", x)]
    out["matmul_batch"] = x @ x.transpose(1, 2)
    out["bmm"] = torch.bmm(x, x.transpose(-1, -2))
    return out


def test_shape_idioms():
    run_both(shape_idioms, np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 7 - 1)


def arithmetic_idioms(torch):
    out = {}
    a = torch.arange(6)
    b = torch.linspace(0, 1, steps=6)
    out["int_float"] = [a + b, a * 1.5, a / 2, a // 4, a % 4, -a, a**2, 2**a]
    out["dtypes"] = [_dtype_name(t.dtype) for t in
                     [a, b, a + b, a / 2, a * 2, a.float(), a.double(), a.to(torch.float16),
                      a > 2, torch.tensor(3), torch.tensor(3.0), torch.tensor([True])]]
    out["casts"] = [a.long(), a.int(), (a > 2).long(), b.half().float(), a.bool()]
    out["comparisons"] = [a == 3, a != 3, (a >= 2) & (a < 5), (a < 1) | (a > 4), ~(a > 2)]
    out["reductions"] = [b.sum(), b.mean(), b.std(), b.var(unbiased=False), b.prod(), b.max(),
                         b.min(), b.norm(), a.sum(), a.max()]
    out["clamp"] = [b.clamp(0.2, 0.8), b.clamp(min=0.5), torch.clamp(a, max=3)]
    out["math"] = [b.exp(), (b + 1).log(), b.sqrt(), b.sin(), b.tanh(), b.sigmoid(), b.abs(),
                   b.round(), b.floor(), torch.rsqrt(b + 1), torch.pow(b, 3)]
    out["allclose"] = [torch.allclose(b, b + 1e-9), torch.isclose(b, b + 1e-3).tolist()]
    out["eye_full"] = [torch.eye(3), torch.full((2, 2), 7.0), torch.zeros(2, 3, dtype=torch.int64)]
    out["item_tolist"] = [b[2].item(), a.tolist(), torch.tensor([[1, 2]]).tolist()]
    out["maximum"] = [torch.maximum(b, 1 - b), torch.minimum(b, 1 - b)]
    out["any_all"] = [(a > 4).any().item(), (a >= 0).all().item()]
    out["unique_values"] = sorted(set(torch.tensor([3, 1, 3, 2]).tolist()))
    out["logsumexp"] = torch.logsumexp(b, dim=0)
    out["amax"] = torch.amax(b.view(2, 3), dim=1)
    return out


def test_arithmetic_idioms():
    run_both(arithmetic_idioms)


def random_idioms(torch):
    # NOTE: the streams differ between libraries; compare shapes, dtypes, ranges, determinism
    torch.manual_seed(1)
    x = torch.randn(200, 3)
    first = torch.rand_like(x)
    torch.manual_seed(1)
    torch.randn(200, 3)
    again = torch.rand_like(x)
    out = {"repeatable": torch.equal(first, again)}
    out["randn_like"] = [tuple(torch.randn_like(x).shape),
                         _dtype_name(torch.randn_like(x, dtype=torch.float64).dtype)]
    ints = torch.randint_like(x, 10)
    out["randint_like"] = [_dtype_name(ints.dtype), bool((ints >= 0).all() and (ints < 10).all()),
                           bool((ints == ints.round()).all())]
    ranged = torch.randint_like(torch.zeros(1000, dtype=torch.int32), 3, 6)
    out["randint_range"] = [_dtype_name(ranged.dtype), sorted(set(ranged.tolist()))]
    out["randint"] = [tuple(torch.randint(0, 5, (4, 2)).shape), _dtype_name(
        torch.randint(0, 5, (4, 2)).dtype)]
    perm = torch.randperm(10)
    out["randperm"] = sorted(perm.tolist())
    g = torch.Generator().manual_seed(4)
    out["generator"] = torch.equal(torch.rand(5, generator=g),
                                   torch.rand(5, generator=torch.Generator().manual_seed(4)))
    out["moments"] = [abs(x.mean().item()) < 0.2, abs(x.std().item() - 1) < 0.15]
    return out


def test_random_idioms():
    run_both(random_idioms)


def out_argument_program(torch):
    x = torch.arange(6.0).reshape(2, 3)
    y = torch.ones(2, 3)
    result = torch.empty(2, 3)
    returned = torch.add(x, y, out=result)
    out = {"add": result, "same_object": returned is result}
    torch.mul(x, 2, out=result)
    out["mul"] = result.clone()
    m = torch.empty(2, 2)
    torch.matmul(x, x.T, out=m)
    out["matmul"] = m
    s = torch.empty(3)
    torch.sum(x, dim=0, out=s)
    out["sum"] = s
    c = torch.empty(0)
    torch.cat([x, y], dim=0, out=c)
    out["cat_resized"] = c
    i = torch.empty(2, 3, dtype=torch.float64)
    torch.exp(x, out=i)
    out["exp_into_double"] = [i, _dtype_name(i.dtype)]
    try:
        torch.add(x, y, out=torch.empty(2, 3, dtype=torch.long))
        out["bad_cast"] = "no error"
    except RuntimeError as e:
        out["bad_cast"] = str(e)
    w = torch.ones(3, requires_grad=True)
    try:
        torch.mul(w, 2, out=torch.empty(3))
        out["grad_error"] = "no error"
    except RuntimeError as e:
        out["grad_error"] = str(e).split(":", 1)[1].strip()
    with torch.no_grad():
        z = torch.empty(3)
        torch.mul(w, 2, out=z)
    out["no_grad"] = [z, z.requires_grad]
    return out


def test_out_arguments():
    run_both(out_argument_program)


def legacy_idioms(torch, data_np):
    """Old-style scripts: typed constructors, isinstance checks, out= tuples, normal overloads."""
    out = {}
    x = torch.FloatTensor(data_np.tolist())
    idx = torch.LongTensor([2, 0])
    out["typed"] = [x, idx, torch.DoubleTensor([1, 2]), torch.BoolTensor([1, 0])]
    out["isinstance"] = [isinstance(x, torch.FloatTensor), isinstance(idx, torch.LongTensor),
                         isinstance(x, torch.LongTensor), isinstance(x, torch.Tensor)]
    buf = torch.Tensor(2, 3).zero_()
    buf[:, 1] = x[idx, 0]
    out["buffer"] = buf
    out["type"] = x.type().split(".")[-1]
    values, indices = torch.empty(0), torch.empty(0, dtype=torch.long)
    torch.max(x, 1, out=(values, indices))
    out["max_out"] = [values, indices]
    torch.manual_seed(0)
    noise = torch.normal(torch.zeros(3, 2), torch.ones(2))
    out["normal_shape"] = list(noise.shape)
    out["random_"] = bool((torch.empty(100).random_() >= 0).all())
    return out


def test_legacy_idioms():
    data = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75], [3.0, 1.0, 0.0]], np.float32)
    expected, _ = run_both(legacy_idioms, data)
    assert expected["isinstance"] == [True, True, False, True]
