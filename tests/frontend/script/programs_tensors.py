"""Scripted programs, part 2: tensor code (ops through graphtorch.* and Tensor methods, indexing,
shapes, dtypes, nn.functional). Each entry: (function, list of thunks making the arguments)."""
# ruff: noqa: UP006, UP035, UP045, UP032, B007 - typing's spellings and plain Python are what
# the compiler must accept, so the programs keep them

from __future__ import annotations

from typing import List

import graphtorch as torch
import graphtorch.nn.functional as F


def _r(*shape):
    return lambda: (torch.randn(*shape),)


def elementwise_chain(x):
    return torch.sigmoid(x) * torch.tanh(x) + torch.exp(-x.abs()) - x.relu()


def methods_chain(x):
    return x.abs().sqrt().log1p().clamp(0.1, 2.0).neg()


def reductions(x):
    return x.sum(), x.mean(1), x.amax(0), x.sum(dim=1, keepdim=True), x.std()


def matmul_and_operators(x, w):
    return x @ w, torch.matmul(x, w).t(), x.mm(w) * 2


def shapes_and_views(x):
    n = x.size(0)
    y = x.view(n, -1).reshape(-1)
    z = x.unsqueeze(0).squeeze(0).permute(1, 0).contiguous()
    return y, z, x.shape[1], x.dim(), x.numel()


def shape_dependent_loop(x):
    total = torch.zeros(x.size(1))
    for i in range(x.size(0)):
        total = total + x[i] * i
    return total


def transpose_property(x):
    return x.T, x.T.T, x.mT


def transpose_3d(x):
    return x.T, x.t() if x.dim() == 2 else x


def indexing_basic(x):
    return x[0], x[-1], x[1:3], x[:, 0], x[::2, 1:], x[None, 0], x[..., -1]


def indexing_dynamic(x, i: int, j: int):
    return x[i], x[i:j], x[:, j], x[i, j]


def indexing_tensor_index(x, idx):
    return x[idx], x[:, idx[:2]]


def indexing_mask(x):
    return x[x > 0].sum()


def setitem(x, i: int):
    y = x.clone()
    y[i] = 0.0
    y[:, 1:3] = y[:, 1:3] * 2
    y[y < -1] = -1.0
    return y


def dtype_casts(x):
    i = x.long()
    f = i.float()
    d = x.double()
    b = x > 0
    return i, f, d, b, x.to(torch.float64), b.int()


def dtype_attributes(x):
    if x.dtype == torch.float32:
        y = x * 2
    else:
        y = x
    return y, x.is_floating_point(), x.device == torch.device("cpu")


def creation_ops(x):
    z = torch.zeros(2, 3)
    o = torch.ones([2, 3], dtype=torch.float64)
    f = torch.full((2, 2), 7.0)
    a = torch.arange(5)
    zl = torch.zeros_like(x)
    return z, o, f, a, zl + x, torch.ones_like(x)


def cat_stack_split(x):
    c = torch.cat([x, x * 2], 0)
    s = torch.stack([x, -x], 1)
    parts = torch.split(c, 2)
    return c, s, parts[0], len(parts)


def where_and_clamp(x):
    return torch.where(x > 0, x, x * 0.1), torch.clamp(x, min=-0.5), x.clamp(max=0.5)


def functional_ops(x):
    return F.relu(x), F.softmax(x, dim=1), F.log_softmax(x, 1), F.gelu(x), F.silu(x)


def functional_linear(x, w, b):
    return F.linear(x, w, b), F.linear(x, w)


def losses(x, target):
    return F.mse_loss(x, target), F.l1_loss(x, target, reduction="sum")


def cross_entropy(logits, labels):
    return F.cross_entropy(logits, labels)


def layer_norm_fn(x, w, b):
    return F.layer_norm(x, [4], w, b), F.layer_norm(x, (4,), eps=1e-3)


def scalar_tensor_mix(x, a: float, n: int):
    return x * a + n, 2 - x, a / (x.abs() + 1), x ** 2, 2 ** x


def comparison_ops(x, y):
    return x > y, x <= 0.5, x == x, (x != y) & (x > 0), ~(x > 0) | (y < 0)


def max_min_overloads(x, y):
    v, i = torch.max(x, 1)
    return v, i, torch.max(x), torch.maximum(x, y), x.min(0)[0], torch.min(x, y), x.max(dim=1)


def argmax_cumsum(x):
    return x.argmax(1), x.cumsum(0), torch.argmin(x)


def inplace_methods(x):
    y = x.clone()
    y.add_(1.0)
    y.mul_(2)
    y.clamp_(-1.0, 3.0)
    return y


def tensor_list_arg(x, ys: List[torch.Tensor]):
    out = x
    for y in ys:
        out = out + y
    return torch.cat(ys + [out], 0)


def chunk_and_unbind(x):
    a, b = x.chunk(2, 1)
    rows = x.unbind(0)
    return a, b, rows[0] + rows[-1]


def flatten_expand_repeat(x):
    y = x.unsqueeze(1).expand(3, 2, 4)
    return y.flatten(), y.flatten(1), x.repeat(2, 1)


def masked_fill_and_gather(x, idx):
    return x.masked_fill(x < 0, 0.0), torch.gather(x, 1, idx), x.index_select(0, idx[:, 0])


def norm_ops(x):
    return x.norm(), torch.norm(x, dim=1), x.var(1), torch.logsumexp(x, 1)


def tril_flip_roll(x):
    return torch.tril(x), x.flip(0), torch.roll(x, 1, 0), x.triu(1)


def tensor_in_condition_loop(x, limit: float):
    steps = 0
    while float(x.norm()) > limit and steps < 50:
        x = x * 0.5
        steps += 1
    return x, steps


def matmul_batched(a, b):
    return torch.bmm(a, b), a @ b


def softmax_attention(q, k, v):
    scores = q @ k.transpose(-2, -1) / (q.size(-1) ** 0.5)
    return torch.softmax(scores, dim=-1) @ v


def one_hot_embedding(labels, table):
    return F.one_hot(labels, 5), F.embedding(labels, table)


def _long(*shape, high=3):
    return torch.randint(0, high, shape)


TENSORS = [
    (elementwise_chain, [_r(3, 4), _r(5)]),
    (methods_chain, [_r(3, 4)]),
    (reductions, [_r(3, 4), _r(2, 5)]),
    (matmul_and_operators, [lambda: (torch.randn(3, 4), torch.randn(4, 4))]),
    (shapes_and_views, [_r(3, 4), _r(2, 6)]),
    (shape_dependent_loop, [_r(3, 4), _r(5, 4)]),
    (transpose_property, [_r(3, 4), _r(2, 3, 4)]),
    (transpose_3d, [_r(3, 4), _r(2, 3, 4)]),
    (indexing_basic, [_r(4, 5), _r(5, 3)]),
    (indexing_dynamic, [lambda: (torch.randn(4, 5), 1, 3), lambda: (torch.randn(5, 5), -2, 4)]),
    (indexing_tensor_index, [lambda: (torch.randn(4, 5), torch.tensor([2, 0, 3]))]),
    (indexing_mask, [_r(4, 5)]),
    (setitem, [lambda: (torch.randn(4, 5), 1), lambda: (torch.randn(3, 5), -1)]),
    (dtype_casts, [_r(3, 4)]),
    (dtype_attributes, [_r(3), lambda: (torch.randn(3).double(),)]),
    (creation_ops, [_r(2, 3)]),
    (cat_stack_split, [_r(3, 4)]),
    (where_and_clamp, [_r(3, 4)]),
    (functional_ops, [_r(3, 4)]),
    (functional_linear, [lambda: (torch.randn(2, 4), torch.randn(3, 4), torch.randn(3))]),
    (losses, [lambda: (torch.randn(3, 4), torch.randn(3, 4))]),
    (cross_entropy, [lambda: (torch.randn(4, 3), _long(4))]),
    (layer_norm_fn, [lambda: (torch.randn(3, 4), torch.randn(4), torch.randn(4))]),
    (scalar_tensor_mix, [lambda: (torch.randn(3, 4), 1.5, 2)]),
    (comparison_ops, [lambda: (torch.randn(3, 4), torch.randn(3, 4))]),
    (max_min_overloads, [lambda: (torch.randn(3, 4), torch.randn(3, 4))]),
    (argmax_cumsum, [_r(3, 4)]),
    (inplace_methods, [_r(3, 4)]),
    (tensor_list_arg, [lambda: (torch.randn(2, 3), [torch.randn(2, 3), torch.randn(2, 3)])]),
    (chunk_and_unbind, [_r(3, 4)]),
    (flatten_expand_repeat, [_r(3, 4)]),
    (masked_fill_and_gather, [lambda: (torch.randn(3, 4), _long(3, 2))]),
    (norm_ops, [_r(3, 4)]),
    (tril_flip_roll, [_r(4, 4)]),
    (tensor_in_condition_loop, [lambda: (torch.randn(3, 4) * 4, 1.0),
                                lambda: (torch.randn(3, 4), 100.0)]),
    (matmul_batched, [lambda: (torch.randn(2, 3, 4), torch.randn(2, 4, 5))]),
    (softmax_attention, [lambda: (torch.randn(2, 3, 4), torch.randn(2, 5, 4),
                                  torch.randn(2, 5, 4))]),
    (one_hot_embedding, [lambda: (_long(4, high=5), torch.randn(5, 3))]),
]
