"""DataLoader, samplers and collation vs PyTorch on deterministic loaders."""

from __future__ import annotations

from collections import OrderedDict, namedtuple

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.utils import data

pytestmark = pytest.mark.torch

Pair = namedtuple("Pair", "x y")


def _plain(obj):
    """A batch as nested Python data (tensors as (dtype, values)) for exact comparison."""
    if hasattr(obj, "numpy") and hasattr(obj, "dtype"):
        return (str(obj.dtype).split(".")[-1], obj.numpy().tolist())
    if isinstance(obj, dict):
        return (type(obj).__name__, {k: _plain(v) for k, v in obj.items()})
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return (type(obj).__name__, [_plain(v) for v in obj])
    if isinstance(obj, (list, tuple)):
        return (type(obj).__name__, [_plain(v) for v in obj])
    return obj


class _Samples:
    """A map-style dataset of ``make(i)``, defined for both libraries."""

    def __init__(self, n, make):
        self.n, self.make = n, make

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return self.make(i)


def _samples(lib, kind):
    a = np.arange(24, dtype=np.float32).reshape(8, 3)
    if kind == "tuple":
        return lambda i: (lib.tensor(a[i]), i, float(i) / 2)
    if kind == "dict":
        return lambda i: {"x": lib.tensor(a[i]), "label": i % 3, "name": f"s{i}",
                          "mask": bool(i % 2)}
    if kind == "ordered":
        return lambda i: OrderedDict(b=a[i], a=np.int32(i))
    if kind == "namedtuple":
        return lambda i: Pair(lib.tensor(a[i]), [i, i + 1])
    if kind == "numpy":
        return lambda i: (a[i], np.float64(i))
    raise KeyError(kind)


KINDS = ["tuple", "dict", "ordered", "namedtuple", "numpy"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("batch_size,drop_last", [(3, False), (3, True), (8, True), (1, False),
                                                  (None, False), (10, False), (10, True)])
def test_loader_batches_match(kind, batch_size, drop_last):
    import torch
    import torch.utils.data as tdata

    ours = data.DataLoader(_Samples(8, _samples(gt, kind)), batch_size=batch_size,
                           drop_last=drop_last)
    theirs = tdata.DataLoader(_Samples(8, _samples(torch, kind)), batch_size=batch_size,
                              drop_last=drop_last)
    assert len(ours) == len(theirs)
    assert [_plain(b) for b in ours] == [_plain(b) for b in theirs]


def test_custom_collate_and_samplers():
    import torch
    import torch.utils.data as tdata

    def collate(batch):
        xs, idx, _ = zip(*batch)
        return len(batch), list(idx)

    order = [5, 1, 7, 7, 0]
    for kw in [dict(batch_size=2, collate_fn=collate, sampler=order),
               dict(batch_size=2, collate_fn=collate, sampler=order, drop_last=True),
               dict(batch_sampler=[[0, 1, 2], [7], [3, 3]], collate_fn=collate),
               dict(batch_size=None, sampler=order, collate_fn=lambda s: s[1])]:
        ours = data.DataLoader(_Samples(8, _samples(gt, "tuple")), **kw)
        theirs = tdata.DataLoader(_Samples(8, _samples(torch, "tuple")), **kw)
        assert len(ours) == len(theirs)
        assert list(ours) == list(theirs)


def test_sampler_classes_deterministic_parts():
    import torch.utils.data as tdata

    src = list(range(10))
    assert list(data.SequentialSampler(src)) == list(tdata.SequentialSampler(src))
    for bs, dl in [(3, False), (3, True), (5, True), (11, False)]:
        ours = data.BatchSampler(data.SequentialSampler(src), bs, dl)
        theirs = tdata.BatchSampler(tdata.SequentialSampler(src), bs, dl)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)
    g = gt.Generator().manual_seed(3)
    perm = list(data.RandomSampler(src, generator=g))
    assert sorted(perm) == src
    drawn = list(data.RandomSampler(src, replacement=True, num_samples=25, generator=g))
    assert len(drawn) == 25 and set(drawn) <= set(src)
    more = list(data.RandomSampler(src, num_samples=23, generator=g))
    assert len(more) == 23 and sorted(more[:20]) == sorted(src * 2)
    sub = list(data.SubsetRandomSampler([4, 8, 9], generator=g))
    assert sorted(sub) == [4, 8, 9]


def test_weighted_random_sampler():
    import torch.utils.data as tdata

    g = gt.Generator().manual_seed(0)
    weights = [0.0, 1.0, 3.0, 0.0]
    ours = data.WeightedRandomSampler(weights, 4000, replacement=True, generator=g)
    assert len(ours) == len(tdata.WeightedRandomSampler(weights, 4000))
    drawn = np.array(list(ours))
    assert set(drawn.tolist()) <= {1, 2}
    assert abs((drawn == 2).mean() - 0.75) < 0.05
    once = list(data.WeightedRandomSampler(weights, 2, replacement=False, generator=g))
    assert sorted(once) == [1, 2]
    for kw in (dict(weights=weights, num_samples=0), dict(weights=[weights], num_samples=2),
               dict(weights=weights, num_samples=2, replacement=1)):
        with pytest.raises(ValueError) as t_err:
            tdata.WeightedRandomSampler(**kw)
        with pytest.raises(ValueError) as g_err:
            data.WeightedRandomSampler(**kw)
        assert str(g_err.value) == str(t_err.value)
    # more draws than nonzero weights: the zero-weight indices come last, as in PyTorch
    drawn = list(data.WeightedRandomSampler(weights, 4, replacement=False, generator=g))
    assert sorted(drawn[:2]) == [1, 2] and sorted(drawn) == [0, 1, 2, 3]


def test_shuffle_with_generator_is_reproducible_and_covers_every_sample():
    ds = data.TensorDataset(gt.arange(10), gt.arange(10) * 2)

    def epoch(seed):
        g = gt.Generator().manual_seed(seed)
        loader = data.DataLoader(ds, batch_size=4, shuffle=True, generator=g, drop_last=False)
        return [x.tolist() for x, _ in loader]

    first = epoch(5)
    assert first == epoch(5)
    assert [len(b) for b in first] == [4, 4, 2]
    assert sorted(sum(first, [])) == list(range(10))
    loader = data.DataLoader(ds, batch_size=4, shuffle=True,
                             generator=gt.Generator().manual_seed(5))
    assert [x.tolist() for x, _ in loader] != [x.tolist() for x, _ in loader]


def test_collate_errors_like_pytorch():
    import torch
    import torch.utils.data as tdata

    for make in (lambda lib: [[1, 2], [3]], lambda lib: [lib.zeros(2), lib.zeros(3)]):
        with pytest.raises(RuntimeError) as t_err:
            tdata.default_collate(make(torch))
        with pytest.raises(RuntimeError) as g_err:
            data.default_collate(make(gt))
        if isinstance(make(torch)[0], list):
            assert str(g_err.value) == str(t_err.value)
    for kw in [dict(batch_size=0), dict(batch_size=2, drop_last=True, batch_sampler=[[0]]),
               dict(shuffle=True, sampler=[0, 1])]:
        with pytest.raises(ValueError) as t_err:
            tdata.DataLoader(list(range(4)), **kw)
        with pytest.raises(ValueError) as g_err:
            data.DataLoader(list(range(4)), **kw)
        assert str(g_err.value) == str(t_err.value)


def test_random_split_lengths_and_fractions():
    import torch.utils.data as tdata

    for lengths in ([3, 7], [0.5, 0.3, 0.2], [0.34, 0.33, 0.33]):
        ours = data.random_split(list(range(10)), lengths, generator=gt.Generator().manual_seed(1))
        theirs = tdata.random_split(list(range(10)), lengths)
        assert [len(s) for s in ours] == [len(s) for s in theirs]
        assert sorted(i for s in ours for i in s) == list(range(10))
    with pytest.raises(ValueError) as t_err:
        tdata.random_split(list(range(10)), [3, 3])
    with pytest.raises(ValueError) as g_err:
        data.random_split(list(range(10)), [3, 3])
    assert str(g_err.value) == str(t_err.value)


def test_sampler_and_collate_type_errors_like_pytorch():
    import torch.utils.data as tdata

    for build in (lambda d: d.RandomSampler(list(range(3)), replacement=1),
                  lambda d: d.default_collate([np.array(["a"]), np.array(["b"])])):
        with pytest.raises(TypeError) as t_err:
            build(tdata)
        with pytest.raises(TypeError) as g_err:
            build(data)
        assert str(g_err.value) == str(t_err.value)
