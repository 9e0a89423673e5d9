"""Programs that update tensors in place (scripted by test_inplace.py and run eagerly on copies
of the same inputs: outputs AND the inputs afterwards must agree)."""

from __future__ import annotations

import graphtorch as torch
from graphtorch import Tensor


def mutate_argument(x: Tensor, y: Tensor) -> Tensor:
    x.add_(y, alpha=2.0)
    x.mul_(0.5)
    x.clamp_(min=-1.0)
    return x.sum()


def alias_sees_update(x: Tensor) -> Tensor:
    alias = x
    before = x * 1.0
    x.sub_(1.0)
    return torch.stack([alias, before, x])


def item_assignment(x: Tensor, v: Tensor) -> Tensor:
    x[0] = v
    x[1:, 0] = 3.0
    x[x > 2.5] = -1.0
    return x


def aug_assignment(x: Tensor, y: Tensor) -> Tensor:
    x += y
    x *= 2.0
    x[0] += 10.0
    x[:, 1] -= y[:, 1]
    return x


def view_updates_base(x: Tensor) -> Tensor:
    row = x[1]
    row.mul_(3.0)
    row += 1.0
    x[0].fill_(7.0)
    x[:, 2].zero_()
    return row


def chained_methods(x: Tensor, y: Tensor) -> Tensor:
    x.mul_(2.0).add_(y).sigmoid_()
    return x


def mutate_list(xs: list[Tensor], y: Tensor) -> Tensor:
    for t in xs:
        t.add_(y)
    xs[0] += 1.0
    xs[1].mul_(-1.0)
    return xs[0] + xs[1]


def fill_buffer(x: Tensor, n: int) -> Tensor:
    out = torch.zeros(n, 3)
    for i in range(n):
        out[i] = x[i] * float(i)
        out[i] += 1.0
    return out


def fill_given_buffer(out: Tensor, x: Tensor) -> None:
    for i in range(x.size(0)):
        out[i] = x[i].sum()
        if i > 0:
            out[i] += out[i - 1]


def copy_and_fill(x: Tensor, src: Tensor) -> Tensor:
    x.copy_(src)
    x[0].fill_(src.sum())
    x.masked_fill_(x < 0, 0.0)
    return x


def stale_reads(x: Tensor) -> Tensor:
    alias = x
    a = alias * 2.0
    b = alias + 0.0
    x.add_(1.0)
    c = alias * 2.0
    d = alias + 0.0
    e = x * 2.0
    return torch.stack([a, b, c, d, e])


def fresh_each_call(n: int) -> Tensor:
    c = torch.zeros(3)
    c.add_(1.0)
    t = torch.tensor([1.0, 2.0, 3.0])
    t.mul_(2.0)
    for _ in range(n):
        t += c
    return t


def branchy(x: Tensor, flag: bool) -> Tensor:
    y = x
    if flag:
        y.mul_(2.0)
    else:
        y[0] = 0.0
    return x + y


def helper_update(t: Tensor) -> None:
    t.add_(1.0)
    t[0] = -1.0


def calls_helper(x: Tensor) -> Tensor:
    helper_update(x)
    helper_update(x[1:])
    return x


def grad_nonleaf(x: Tensor, y: Tensor) -> Tensor:
    h = x * 2.0
    h.add_(y)
    h.mul_(h)
    h[0] = y[0] * 3.0
    h[1:] += x[1:]
    v = h[2]
    v.mul_(y[2])
    return (h * x).sum()


def grad_accumulate(x: Tensor, w: Tensor) -> Tensor:
    out = torch.zeros(x.size(0), w.size(1))
    for i in range(x.size(0)):
        out[i] = x[i] @ w
        out[i] += x[i].sum()
    return out.tanh().sum()


PROGRAMS = {
    "mutate_argument": (mutate_argument, lambda: [torch.randn(4), torch.randn(4)]),
    "alias_sees_update": (alias_sees_update, lambda: [torch.randn(3)]),
    "item_assignment": (item_assignment, lambda: [torch.randn(3, 2), torch.randn(2)]),
    "aug_assignment": (aug_assignment, lambda: [torch.randn(3, 2), torch.randn(3, 2)]),
    "view_updates_base": (view_updates_base, lambda: [torch.randn(3, 3)]),
    "chained_methods": (chained_methods, lambda: [torch.randn(5), torch.randn(5)]),
    "mutate_list": (mutate_list, lambda: [[torch.randn(2), torch.randn(2)], torch.randn(2)]),
    "fill_buffer": (fill_buffer, lambda: [torch.randn(4, 3), 4]),
    "fill_given_buffer": (fill_given_buffer, lambda: [torch.zeros(4), torch.randn(4, 2)]),
    "copy_and_fill": (copy_and_fill, lambda: [torch.randn(3, 2), torch.randn(3, 2)]),
    "stale_reads": (stale_reads, lambda: [torch.randn(4)]),
    "fresh_each_call": (fresh_each_call, lambda: [2]),
    "branchy_true": (branchy, lambda: [torch.randn(3), True]),
    "branchy_false": (branchy, lambda: [torch.randn(3), False]),
    "calls_helper": (calls_helper, lambda: [torch.randn(4)]),
}
