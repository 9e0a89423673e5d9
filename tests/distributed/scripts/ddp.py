"""DDP on 2 ranks against single-process training on the concatenated batch: an MLP, a small CNN,
a scripted MLP; no_sync accumulation; find_unused_parameters; bucket launch order."""

import sys
import weakref

import numpy as np

import graphtorch as torch
import graphtorch.distributed as dist
from graphtorch import nn
from graphtorch.distributed.process_group import WORLD
from graphtorch.errors import DistributedError
from graphtorch.nn.parallel import DistributedDataParallel as DDP

dist.init_process_group("gloo")
R, W = dist.get_rank(), dist.get_world_size()
STEPS = 20
PER_RANK = 6


def mlp():
    return nn.Sequential(nn.Linear(10, 32), nn.Tanh(), nn.Linear(32, 16), nn.ReLU(),
                         nn.Linear(16, 3))


def cnn():
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 6, 3), nn.ReLU(), nn.Flatten(), nn.Linear(6 * 2 * 2, 3))


def batches(shape, seed):
    g = np.random.default_rng(seed)
    x = g.standard_normal((STEPS, W * PER_RANK) + shape).astype(np.float32)
    y = g.integers(0, 3, (STEPS, W * PER_RANK))
    return x, y


def train(model, x, y, rows, wrap=None, set_to_none=True):
    net = wrap(model) if wrap else model
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    for step in range(STEPS):
        opt.zero_grad(set_to_none=set_to_none)
        loss = loss_fn(net(torch.tensor(x[step, rows])), torch.tensor(y[step, rows]))
        loss.backward()
        opt.step()
    return net


def same_params(a, b, what):
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=2e-5, atol=2e-6,
                                   err_msg=f"{what}: {name}")


def compare(factory, shape, what, compile_fn=None, wrap=DDP, set_to_none=True):
    x, y = batches(shape, 7)
    mine = slice(R * PER_RANK, (R + 1) * PER_RANK)
    torch.manual_seed(100 + R)  # different inits on purpose: DDP must start from rank 0's
    model = factory()
    torch.manual_seed(100)
    reference = factory()
    if compile_fn is not None:
        model = compile_fn(model)
    train(model, x, y, mine, wrap, set_to_none)
    train(reference, x, y, slice(None))
    same_params(model, reference, what)
    if R == 0:
        moved = max(float(np.abs(p.detach().numpy() - q.detach().numpy()).max())
                    for p, q in zip(reference.parameters(), _fresh(factory).parameters()))
        assert moved > 1e-3, f"{what}: training did not change the parameters"


def _fresh(factory):
    torch.manual_seed(100)
    return factory()


compare(mlp, (10,), "MLP")
compare(cnn, (2, 8, 8), "CNN")
compare(mlp, (10,), "scripted MLP", torch.jit.script)
compare(mlp, (10,), "jit.compile around DDP", wrap=lambda m: torch.jit.compile(DDP(m)))
compare(mlp, (10,), "MLP, small buckets, grads as bucket views",
        wrap=lambda m: DDP(m, bucket_cap_mb=0.001, gradient_as_bucket_view=True))
compare(mlp, (10,), "MLP, grads as bucket views zeroed in place",
        wrap=lambda m: DDP(m, gradient_as_bucket_view=True), set_to_none=False)
compare(mlp, (10,), "traced MLP", lambda m: torch.jit.trace(m, torch.zeros(PER_RANK, 10)))
# a bucket per parameter: each gradient is all-reduced in place in .grad (no bucket copies),
# both when backward creates .grad and when it accumulates into a zeroed one
compare(mlp, (10,), "MLP, one-parameter buckets reduced in place",
        wrap=lambda m: DDP(m, bucket_cap_mb=1e-6))
compare(mlp, (10,), "MLP, one-parameter buckets, grads zeroed in place",
        wrap=lambda m: DDP(m, bucket_cap_mb=1e-6), set_to_none=False)
compare(cnn, (2, 8, 8), "CNN, one-parameter buckets", wrap=lambda m: DDP(m, bucket_cap_mb=1e-6))

# in place means in .grad's own array: a second backward accumulates into the same tensors and
# the reduction averages the accumulated sum (d sum(x W^T + b) / dW = 3 (R + 1) per rank)
torch.manual_seed(0)
small = nn.Linear(4, 4)
ddp = DDP(small, bucket_cap_mb=1e-6)
assert len(ddp._buckets) == 2 and all(len(b.params) == 1 for b in ddp._buckets)
ddp(torch.ones(3, 4) * (R + 1)).sum().backward()
mean_r1 = sum(r + 1 for r in range(W)) / W
np.testing.assert_allclose(small.weight.grad.numpy(), np.full((4, 4), 3 * mean_r1), rtol=1e-6)
np.testing.assert_allclose(small.bias.grad.numpy(), np.full(4, 3.0), rtol=1e-6)
assert all(b.sent is b.params[0].grad._data for b in ddp._buckets)  # no bucket copy
keep = small.weight.grad
ddp(torch.ones(3, 4) * (R + 1)).sum().backward()
assert small.weight.grad is keep and ddp._buckets[1].sent is keep._data
np.testing.assert_allclose(keep.numpy(), np.full((4, 4), 6 * mean_r1), rtol=1e-6)
# the next forward lets go of the gradients reduced in place before the module runs: once
# zero_grad() dropped them, their memory is free for the forward's activations
reduced = weakref.ref(keep._data)
del keep
small.zero_grad(set_to_none=True)
alive_in_forward = []
probe = small.register_forward_pre_hook(
    lambda m, args: alive_in_forward.append(reduced() is not None))
ddp(torch.ones(3, 4))
probe.remove()
assert alive_in_forward == [False], "DDP kept last step's gradient alive during the forward"
assert all(b.sent is b.buffer for b in ddp._buckets)

# bucket all-reduces skip the per-collective header agreement (every rank's model was compared
# at construction): a DDP backward exchanges no header, while a plain all_reduce exchanges one
host = WORLD.default.host_engine
exchanges = []
for name in ("exchange", "exchange_bytes"):
    def counting(*args, _real=getattr(host, name), _name=name):
        exchanges.append(_name)
        return _real(*args)
    setattr(host, name, counting)
try:
    torch.manual_seed(0)
    counted = DDP(mlp(), bucket_cap_mb=0.002)
    at_construction = len(exchanges)
    assert at_construction == 1, exchanges  # the model comparison
    for _ in range(2):
        counted(torch.randn(4, 10)).sum().backward()
    assert len(counted._buckets) >= 3 and len(exchanges) == at_construction, exchanges
    dist.all_reduce(torch.ones(2))
    assert len(exchanges) == at_construction + 1, exchanges
finally:
    del host.exchange, host.exchange_bytes

# bucketing: with tiny buckets the first bucket is launched while backward still produces grads
torch.manual_seed(0)
model = DDP(mlp(), bucket_cap_mb=0.002)
model.require_backward_grad_sync = True  # PyTorch's attribute, as accelerate sets it
assert len(model._buckets) >= 3, model._buckets
model(torch.randn(4, 10)).sum().backward()
events = model._events
launches = [e[1] for e in events if e[0] == "launch"]
assert launches == list(range(len(model._buckets))), events
first_launch = events.index(("launch", 0))
last_grad = max(i for i, e in enumerate(events) if e[0] == "grad")
assert first_launch < last_grad, f"no overlap: {events}"
assert [e[1] for e in events if e[0] == "grad"][0].startswith("4."), events  # last layer first

# no_sync: two local backward passes, then one synchronized: the average of the summed grads
x, y = batches((10,), 11)
torch.manual_seed(3)
model, reference = mlp(), None
torch.manual_seed(3)
reference = mlp()
ddp = DDP(model)
loss_fn = nn.CrossEntropyLoss()
halves = [slice(R * PER_RANK, R * PER_RANK + 3), slice(R * PER_RANK + 3, (R + 1) * PER_RANK)]
with ddp.no_sync():
    loss_fn(ddp(torch.tensor(x[0, halves[0]])), torch.tensor(y[0, halves[0]])).backward()
local = [p.grad.numpy().copy() for p in model.parameters()]
loss_fn(ddp(torch.tensor(x[0, halves[1]])), torch.tensor(y[0, halves[1]])).backward()
for half in (slice(0, 3), slice(3, 6)):
    rows = np.concatenate([np.arange(r * PER_RANK, (r + 1) * PER_RANK)[half] for r in range(W)])
    (loss_fn(reference(torch.tensor(x[0, rows])), torch.tensor(y[0, rows]))).backward()
for p, q, before in zip(model.parameters(), reference.parameters(), local):
    np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-5, atol=1e-6)
    assert not np.allclose(before, p.grad.numpy())


# find_unused_parameters: a branch used only on rank 0
class Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 4)
        self.b = nn.Linear(4, 4)
        self.never = nn.Linear(4, 4)

    def forward(self, x, use_b):
        return self.b(self.a(x)) if use_b else self.a(x)


torch.manual_seed(5)
branchy = Branchy()
ddp = DDP(branchy, find_unused_parameters=True)
ddp(torch.ones(2, 4), R == 0).sum().backward()
assert branchy.never.weight.grad is None  # unused on every rank: no gradient, as PyTorch
assert branchy.b.weight.grad is not None  # used on rank 0: rank 1 gets the average too
grads = torch.tensor(branchy.b.weight.grad.numpy())
copies = [torch.zeros(4, 4) for _ in range(W)]
dist.all_gather(copies, grads)
np.testing.assert_allclose(copies[0].numpy(), copies[1].numpy())

# without find_unused_parameters the next forward names the parameters that got no gradient
torch.manual_seed(5)
strict = DDP(Branchy())
strict(torch.ones(2, 4), True).sum().backward()
try:
    strict(torch.ones(2, 4), True)
except DistributedError as e:
    assert "never.weight" in str(e) and "find_unused_parameters=True" in str(e), e
else:
    raise AssertionError("expected an error about unused parameters")

# buffers: rank 0's are broadcast at construction and before every forward
torch.manual_seed(2)
bn_model = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4))
bn = DDP(bn_model)
bn_model[1].running_mean.fill_(float(R + 1))
bn.eval()
bn(torch.ones(3, 4))
np.testing.assert_allclose(bn_model[1].running_mean.numpy(), 1.0)

# every rank must wrap the same model
try:
    DDP(nn.Linear(4, 4 + R))
except DistributedError as e:
    assert "the ranks wrap different models" in str(e), e
else:
    raise AssertionError("different models on the ranks did not raise")

# a rank-0 checkpoint loaded on every rank
torch.manual_seed(9 + R)
net = DDP(mlp())
path = sys.argv[1] if len(sys.argv) > 1 else "/tmp/graphtorch_ddp_ckpt.gt"
if R == 0:
    torch.save(net.module.state_dict(), path)
dist.barrier()
restored = mlp()
restored.load_state_dict(torch.load(path))
same_params(restored, net.module, "checkpoint")

print(f"DDP OK rank {R}", flush=True)
dist.destroy_process_group()
