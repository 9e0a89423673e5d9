"""Every collective against numpy on every rank: reduce ops x dtypes x shapes, contiguous and
strided tensors, async handles, groups. Prints one OK line per rank."""

import zlib

import numpy as np

import graphtorch as torch
import graphtorch.distributed as dist
from graphtorch.distributed import ReduceOp

dist.init_process_group("gloo")
R, W = dist.get_rank(), dist.get_world_size()
DTYPES = ["float32", "float64", "float16", "int64", "int32", "int8", "uint8", "bool"]
SHAPES = [(), (5,), (3, 4), (2, 3, 4)]
checks = 0


def data(rank, dtype, shape, salt):
    g = np.random.default_rng(zlib.crc32(repr((rank, dtype, shape, salt)).encode()))
    if dtype == "bool":
        return g.integers(0, 2, shape).astype(bool)
    if dtype in ("int8", "uint8", "int32", "int64"):
        return g.integers(1, 6, shape).astype(dtype)
    return g.uniform(-2, 2, shape).astype(dtype)


def reduce_ref(arrays, op, dtype):
    if dtype == "bool":
        if op in (ReduceOp.SUM, ReduceOp.MAX):
            return np.logical_or.reduce(arrays)
        return np.logical_and.reduce(arrays)
    stack = np.stack(arrays)
    if op is ReduceOp.SUM:
        return np.add.reduce(stack, dtype=stack.dtype)
    if op is ReduceOp.AVG:
        return (np.add.reduce(stack, dtype=stack.dtype) / W).astype(dtype)
    if op is ReduceOp.PRODUCT:
        return np.multiply.reduce(stack, dtype=stack.dtype)
    if op is ReduceOp.MAX:
        return stack.max(0)
    return stack.min(0)


def check(got, want, what):
    global checks
    got = got.numpy() if isinstance(got, torch.Tensor) else got
    tol = 1e-3 if str(want.dtype) == "float16" else 1e-6
    assert got.dtype == want.dtype, (what, got.dtype, want.dtype)
    assert got.shape == want.shape, (what, got.shape, want.shape)
    if got.dtype.kind == "f":
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol, err_msg=what)
    else:
        np.testing.assert_array_equal(got, want, err_msg=what)
    checks += 1


def ops_for(dtype):
    ops = [ReduceOp.SUM, ReduceOp.PRODUCT, ReduceOp.MIN, ReduceOp.MAX]
    return ops + [ReduceOp.AVG] if dtype.startswith("float") else ops


# all_reduce / reduce / reduce_scatter: every op, dtype and shape
for dtype in DTYPES:
    for shape in SHAPES:
        for op in ops_for(dtype):
            mine = data(R, dtype, shape, "ar")
            want = reduce_ref([data(r, dtype, shape, "ar") for r in range(W)], op, dtype)
            t = torch.tensor(mine)
            dist.all_reduce(t, op=op)
            check(t, want, f"all_reduce {op} {dtype} {shape}")
            for dst in range(W):
                t = torch.tensor(mine)
                dist.reduce(t, dst=dst, op=op)
                check(t, want if R == dst else mine, f"reduce {op} {dtype} {shape} dst={dst}")
        if shape:
            rows = (W * 2,) + shape[1:]
            inputs = [data(r, dtype, rows, "rs") for r in range(W)]
            for op in ops_for(dtype):
                out = torch.tensor(np.zeros((2,) + shape[1:], dtype))
                dist.reduce_scatter_tensor(out, torch.tensor(inputs[R]), op=op)
                check(out, reduce_ref(inputs, op, dtype)[2 * R:2 * R + 2],
                      f"reduce_scatter_tensor {op} {dtype} {shape}")

# reduce_scatter with an input list
for dtype in ["float32", "int32"]:
    lists = [[data(r, dtype, (3,), f"rsl{i}") for i in range(W)] for r in range(W)]
    out = torch.tensor(np.zeros(3, dtype))
    dist.reduce_scatter(out, [torch.tensor(a) for a in lists[R]], op=ReduceOp.SUM)
    check(out, reduce_ref([lists[r][R] for r in range(W)], ReduceOp.SUM, dtype),
          f"reduce_scatter {dtype}")

# non-contiguous views: the result lands in the view, the rest of the base is untouched
for dtype in ["float32", "int64", "bool"]:
    base = data(R, dtype, (4, 6), "view")
    t = torch.tensor(base.copy())
    view = t[:, ::2].t()
    assert not view._data.flags.c_contiguous
    dist.all_reduce(view, op=ReduceOp.MAX)
    want_full = base.copy()
    want_full[:, ::2] = reduce_ref([data(r, dtype, (4, 6), "view")[:, ::2] for r in range(W)],
                                   ReduceOp.MAX, dtype)
    check(t, want_full, f"all_reduce into a strided view {dtype}")
    b = torch.tensor(data(R, dtype, (3, 4), "bview"))
    dist.broadcast(b.t(), src=1)
    check(b, data(1, dtype, (3, 4), "bview"), f"broadcast into a transposed view {dtype}")

for dtype in DTYPES:
    for shape in SHAPES:
        mine = data(R, dtype, shape, "x")
        every = [data(r, dtype, shape, "x") for r in range(W)]
        for src in range(W):
            t = torch.tensor(mine)
            dist.broadcast(t, src=src)
            check(t, every[src], f"broadcast {dtype} {shape} src={src}")
        outs = [torch.tensor(np.zeros(shape, dtype)) for _ in range(W)]
        dist.all_gather(outs, torch.tensor(mine))
        for r in range(W):
            check(outs[r], every[r], f"all_gather {dtype} {shape} [{r}]")
        flat = torch.tensor(np.zeros((W,) + shape, dtype))
        dist.all_gather_into_tensor(flat, torch.tensor(mine))
        check(flat, np.stack(every), f"all_gather_into_tensor stacked {dtype} {shape}")
        if shape:
            cat = torch.tensor(np.zeros((W * shape[0],) + shape[1:], dtype))
            dist.all_gather_into_tensor(cat, torch.tensor(mine))
            check(cat, np.concatenate(every), f"all_gather_into_tensor cat {dtype} {shape}")
        dst = W - 1
        glist = [torch.tensor(np.zeros(shape, dtype)) for _ in range(W)] if R == dst else None
        dist.gather(torch.tensor(mine), glist, dst=dst)
        if R == dst:
            for r in range(W):
                check(glist[r], every[r], f"gather {dtype} {shape} [{r}]")
        chunks = [data(0, dtype, shape, f"sc{r}") for r in range(W)]
        got = torch.tensor(np.zeros(shape, dtype))
        dist.scatter(got, [torch.tensor(c) for c in chunks] if R == 0 else None, src=0)
        check(got, chunks[R], f"scatter {dtype} {shape}")

# point to point, blocking and async
peer = 1 - R
for dtype in ["float32", "int64", "float16", "bool"]:
    msg = data(R, dtype, (7,), "p2p")
    box = torch.tensor(np.zeros(7, dtype))
    if R == 0:
        dist.send(torch.tensor(msg), dst=peer, tag=3)
        sender = dist.recv(box, src=peer, tag=4)
    else:
        sender = dist.recv(box, tag=3)
        dist.send(torch.tensor(msg), dst=peer, tag=4)
    assert sender == peer, sender
    check(box, data(peer, dtype, (7,), "p2p"), f"send/recv {dtype}")
    box = torch.tensor(np.zeros(7, dtype))
    works = [dist.isend(torch.tensor(msg), dst=peer), dist.irecv(box, src=peer)]
    for w in works:
        w.wait()
    check(box, data(peer, dtype, (7,), "p2p"), f"isend/irecv {dtype}")

# async collectives: issue several, wait in reverse order
tensors = [torch.tensor(data(R, "float32", (1000,), i)) for i in range(4)]
works = [dist.all_reduce(t, async_op=True) for t in tensors]
assert all(isinstance(w, dist.Work) for w in works)
for w in reversed(works):
    w.wait()
for i, t in enumerate(tensors):
    check(t, reduce_ref([data(r, "float32", (1000,), i) for r in range(W)], ReduceOp.SUM,
                        "float32"), f"async all_reduce {i}")

# groups: the whole world again, and a group of rank 1 alone
everyone = dist.new_group([0, 1])
solo = dist.new_group([1])
t = torch.tensor([float(R + 1)])
dist.all_reduce(t, group=everyone)
check(t, np.array([3.0], np.float32), "all_reduce on new_group([0, 1])")
if R == 1:
    assert dist.get_rank(solo) == 0 and dist.get_world_size(solo) == 1
    t = torch.tensor([5.0])
    dist.all_reduce(t, group=solo)
    check(t, np.array([5.0], np.float32), "all_reduce on a group of one")
else:
    assert solo is dist.GroupMember.NON_GROUP_MEMBER
    assert dist.all_reduce(torch.ones(1), group=solo) is None
    assert dist.get_rank(solo) == -1
dist.barrier()

print(f"COLLECTIVES OK rank {R} checks {checks}", flush=True)
dist.destroy_process_group()
assert not dist.is_initialized()
