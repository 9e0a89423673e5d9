"""utils.data: datasets, samplers, default_collate and DataLoader behave like PyTorch's."""

from collections import namedtuple

import numpy as np
import pytest

import graphtorch as gt
from graphtorch.testing import assert_close
from graphtorch.utils.data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    TensorDataset,
    default_collate,
    random_split,
)


class Squares(Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return {"x": np.full(2, i, dtype=np.float32), "y": i * i, "name": f"s{i}"}


class Stream(IterableDataset):
    def __iter__(self):
        return iter(range(7))


def test_batches_in_order_with_last_partial_batch():
    ds = TensorDataset(gt.arange(10), gt.arange(10) * 2)
    batches = list(DataLoader(ds, batch_size=4))
    assert [x.tolist() for x, _ in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert batches[0][1].tolist() == [0, 2, 4, 6]
    assert len(DataLoader(ds, batch_size=4)) == 3


def test_drop_last():
    ds = TensorDataset(gt.arange(10))
    loader = DataLoader(ds, batch_size=4, drop_last=True)
    assert [b[0].tolist() for b in loader] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert len(loader) == 2


def test_shuffle_is_a_permutation_reproducible_with_a_generator():
    ds = TensorDataset(gt.arange(20))

    def epoch(seed):
        g = gt.Generator().manual_seed(seed)
        return [v for (b,) in DataLoader(ds, batch_size=6, shuffle=True, generator=g)
                for v in b.tolist()]

    a, b = epoch(0), epoch(0)
    assert a == b and sorted(a) == list(range(20)) and a != list(range(20))
    assert epoch(1) != a
    g = gt.Generator().manual_seed(0)
    loader = DataLoader(ds, batch_size=20, shuffle=True, generator=g)
    assert next(iter(loader))[0].tolist() != next(iter(loader))[0].tolist()  # new epoch order


def test_default_collate_structures():
    batch = default_collate([Squares(3)[i] for i in range(3)])
    assert set(batch) == {"x", "y", "name"}
    assert_close(batch["x"], gt.tensor([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]))
    assert batch["y"].dtype is gt.int64 and batch["y"].tolist() == [0, 1, 4]
    assert batch["name"] == ["s0", "s1", "s2"]
    floats = default_collate([1.5, 2.5])
    assert floats.dtype is gt.float64
    assert default_collate([True, False]).dtype is gt.bool
    pairs = default_collate([(gt.ones(2), 1), (gt.zeros(2), 2)])
    assert isinstance(pairs, list) and pairs[0].shape == (2, 2) and pairs[1].tolist() == [1, 2]
    lists = default_collate([[1, 2], [3, 4]])
    assert isinstance(lists, list) and [t.tolist() for t in lists] == [[1, 3], [2, 4]]
    point = namedtuple("point", "a b")
    p = default_collate([point(1, 2.0), point(3, 4.0)])
    assert isinstance(p, point) and p.a.tolist() == [1, 3]
    assert default_collate([np.float32(1), np.float32(2)]).dtype is gt.float32


@pytest.mark.torch
def test_default_collate_matches_torch():
    import torch
    from torch.utils.data import default_collate as torch_collate

    samples = [{"a": (np.arange(3, dtype=np.float32) + i, i, 0.5 * i), "b": [i, i + 1]}
               for i in range(4)]
    ours, ref = default_collate(samples), torch_collate(samples)
    for o, r in zip([*ours["a"], *ours["b"]], [*ref["a"], *ref["b"]]):
        assert o.dtype.name == str(r.dtype).removeprefix("torch.")
        np.testing.assert_array_equal(o.numpy(), r.numpy())
    assert isinstance(ref["a"], list) == isinstance(ours["a"], list)
    assert torch.is_tensor(ref["b"][0])


def test_collate_rejects_unequal_lists():
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal"):
        default_collate([[1, 2], [3]])
    with pytest.raises(TypeError, match="found <class 'object'>"):
        default_collate([object()])


def test_custom_collate_fn_and_batch_size_none():
    ds = Squares(4)
    names = list(DataLoader(ds, batch_size=2, collate_fn=lambda b: [s["name"] for s in b]))
    assert names == [["s0", "s1"], ["s2", "s3"]]
    single = list(DataLoader(ds, batch_size=None))
    assert len(single) == 4 and single[1]["x"].shape == (2,) and single[1]["y"] == 1


def test_samplers_and_batch_sampler():
    assert list(SequentialSampler(range(4))) == [0, 1, 2, 3]
    g = gt.Generator().manual_seed(3)
    rs = list(RandomSampler(range(5), generator=g))
    assert sorted(rs) == [0, 1, 2, 3, 4]
    rep = list(RandomSampler(range(3), replacement=True, num_samples=10, generator=g))
    assert len(rep) == 10 and set(rep) <= {0, 1, 2}
    more = list(RandomSampler(range(3), num_samples=7, generator=g))
    assert len(more) == 7 and sorted(more[:3]) == [0, 1, 2]
    bs = BatchSampler(SequentialSampler(range(5)), 2, drop_last=False)
    assert list(bs) == [[0, 1], [2, 3], [4]] and len(bs) == 3
    ds = TensorDataset(gt.arange(5))
    loader = DataLoader(ds, batch_sampler=[[4, 0], [1]])
    assert [b[0].tolist() for b in loader] == [[4, 0], [1]]
    loader = DataLoader(ds, sampler=[3, 3, 1], batch_size=2)
    assert [b[0].tolist() for b in loader] == [[3, 3], [1]]


def test_loader_argument_errors():
    ds = TensorDataset(gt.arange(5))
    with pytest.raises(ValueError, match="sampler option is mutually exclusive with shuffle"):
        DataLoader(ds, sampler=[0], shuffle=True)
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        DataLoader(ds, batch_sampler=[[0]], batch_size=2)
    with pytest.raises(ValueError, match="batch_size should be a positive integer value"):
        DataLoader(ds, batch_size=0)
    with pytest.raises(ValueError, match="expected unspecified shuffle option"):
        DataLoader(Stream(), shuffle=True)
    with pytest.raises(ValueError, match="Size mismatch between tensors"):
        TensorDataset(gt.zeros(2), gt.zeros(3))


def test_iterable_dataset_batches():
    assert [b.tolist() for b in DataLoader(Stream(), batch_size=3)] == [[0, 1, 2], [3, 4, 5],
                                                                           [6]]
    assert [b.tolist() for b in DataLoader(Stream(), batch_size=3, drop_last=True)] == \
        [[0, 1, 2], [3, 4, 5]]


def test_num_workers_loads_in_process_with_same_results():
    ds = TensorDataset(gt.arange(6))
    a = [b[0].tolist() for b in DataLoader(ds, batch_size=4, num_workers=2)]
    assert a == [[0, 1, 2, 3], [4, 5]]


def test_random_split_lengths_and_fractions():
    ds = TensorDataset(gt.arange(10))
    g = gt.Generator().manual_seed(0)
    a, b = random_split(ds, [7, 3], generator=g)
    assert len(a) == 7 and len(b) == 3
    got = sorted([a[i][0].item() for i in range(7)] + [b[i][0].item() for i in range(3)])
    assert got == list(range(10))
    parts = random_split(range(10), [0.5, 0.3, 0.2], generator=g)
    assert [len(p) for p in parts] == [5, 3, 2]
    parts = random_split(range(11), [0.5, 0.5])
    assert [len(p) for p in parts] == [6, 5]
    with pytest.raises(ValueError, match="Sum of input lengths does not equal"):
        random_split(ds, [3, 3])
    g1, g2 = gt.Generator().manual_seed(5), gt.Generator().manual_seed(5)
    assert random_split(range(8), [4, 4], generator=g1)[0].indices == \
        random_split(range(8), [4, 4], generator=g2)[0].indices


def test_subset_and_concat():
    ds = TensorDataset(gt.arange(5))
    sub = Subset(ds, [4, 2])
    assert len(sub) == 2 and sub[0][0].item() == 4
    cat = ConcatDataset([ds, Subset(ds, [0, 1])])
    assert len(cat) == 7 and cat[5][0].item() == 0 and cat[-1][0].item() == 1
    both = ds + ds
    assert isinstance(both, ConcatDataset) and len(both) == 10
