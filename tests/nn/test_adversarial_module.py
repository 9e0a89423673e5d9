"""Module API vs PyTorch: state dicts with shared or non-persistent tensors, hooks, freezing."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch as gt
from graphtorch import nn

pytestmark = pytest.mark.torch


def _build_shared(m, lib):
    class Tied(m.Module):
        def __init__(self):
            super().__init__()
            self.emb = m.Embedding(5, 3)
            self.out = m.Linear(3, 5, bias=False)
            self.out.weight = self.emb.weight
            self.register_buffer("steps", lib.zeros(()), persistent=False)
            self.register_buffer("scale", lib.ones(3))
            self.blocks = m.ModuleList([m.Linear(3, 3)] * 2)
            self.alias = self.blocks[0]

        def forward(self, idx):
            return self.out(self.alias(self.emb(idx)) * self.scale)

    return Tied()


def _both():
    import torch

    return _build_shared(nn, gt), _build_shared(torch.nn, torch)


def test_state_dict_keys_with_shared_and_non_persistent():
    ours, theirs = _both()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [n for n, _ in ours.named_modules(remove_duplicate=False)] == \
        [n for n, _ in theirs.named_modules(remove_duplicate=False)]
    assert [n for n, _ in ours.named_parameters(remove_duplicate=False)] == \
        [n for n, _ in theirs.named_parameters(remove_duplicate=False)]
    assert len(list(ours.parameters())) == len(list(theirs.parameters()))
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]


def test_load_state_dict_strict_false_return_value():
    import torch

    ours, theirs = _both()
    sd = {k: v for k, v in theirs.state_dict().items() if not k.startswith("out")}
    sd["extra.weight"] = torch.zeros(1)
    t_res = theirs.load_state_dict(sd, strict=False)
    g_res = ours.load_state_dict({k: gt.tensor(v.numpy()) for k, v in sd.items()}, strict=False)
    assert g_res.missing_keys == t_res.missing_keys
    assert g_res.unexpected_keys == t_res.unexpected_keys
    assert tuple(g_res) == (t_res.missing_keys, t_res.unexpected_keys)
    assert repr(g_res) == repr(t_res)
    ok = ours.load_state_dict(ours.state_dict())
    assert repr(ok) == repr(theirs.load_state_dict(theirs.state_dict()))


def test_load_state_dict_strict_error_message():
    import torch

    ours, theirs = _both()
    sd = dict(theirs.state_dict())
    sd["scale"] = torch.ones(4)
    sd.pop("blocks.0.bias")
    sd["bogus"] = torch.ones(1)
    with pytest.raises(RuntimeError) as t_err:
        theirs.load_state_dict(sd)
    with pytest.raises(RuntimeError) as g_err:
        ours.load_state_dict({k: gt.tensor(v.numpy()) for k, v in sd.items()})
    expected = str(t_err.value).replace("torch.Size", "graphtorch.Size")
    assert expected.replace("Tied", "") == str(g_err.value).replace("Tied", "")


def test_load_state_dict_assign_replaces_parameters():
    import torch

    for lib, m in ((gt, nn), (torch, torch.nn)):
        lin = m.Linear(2, 3)
        old = lin.weight
        new = {"weight": lib.ones((3, 2), dtype=lib.float64), "bias": lib.zeros(3)}
        lin.load_state_dict(new, assign=True)
        assert lin.weight is not old
        assert isinstance(lin.weight, m.Parameter)
        assert lin.weight.dtype == lib.float64
        assert lin.weight.requires_grad
        lin2 = m.Linear(2, 3)
        lin2.load_state_dict(new)
        assert lin2.weight.dtype == lib.float32  # copy_ keeps the parameter's dtype


def test_shared_weight_gradients_accumulate():
    import torch

    ours, theirs = _both()
    ours.load_state_dict({k: gt.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    idx = np.array([[0, 3, 4]])
    ours(gt.tensor(idx)).sum().backward()
    theirs(torch.tensor(idx)).sum().backward()
    for (n, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-5, atol=1e-6,
                                   err_msg=n)


def test_apply_order_and_to_double_keeps_sharing():
    import torch

    ours, theirs = _both()
    seen, tseen = [], []
    ours.apply(lambda mod: seen.append(type(mod).__name__))
    theirs.apply(lambda mod: tseen.append(type(mod).__name__))
    assert seen == tseen
    ours.double()
    assert ours.out.weight is ours.emb.weight
    assert ours.out.weight.dtype == gt.float64
    assert ours.steps.dtype == gt.float64
    theirs.double()
    assert theirs.steps.dtype == torch.float64


def test_hooks_with_kwargs_and_removal():
    import torch

    def run(m, lib):
        lin = m.Linear(2, 2)
        log = []

        def pre(mod, args, kwargs):
            log.append(("pre", sorted(kwargs)))
            return args, kwargs

        def post(mod, args, kwargs, out):
            log.append(("post", sorted(kwargs)))
            return out * 2

        class Wrap(m.Module):
            def __init__(self):
                super().__init__()
                self.lin = lin

            def forward(self, x, scale=1.0):
                return self.lin(x) * scale

        w = Wrap()
        h1 = w.register_forward_pre_hook(pre, with_kwargs=True)
        h2 = w.register_forward_hook(post, with_kwargs=True)
        with lib.no_grad():
            lin.weight.fill_(1.0)
            lin.bias.fill_(0.0)
        out = w(lib.ones((1, 2)), scale=3.0)
        h1.remove()
        h2.remove()
        out2 = w(lib.ones((1, 2)), scale=3.0)
        return log, out.tolist(), out2.tolist()

    assert run(nn, gt) == run(torch.nn, torch)


def test_forward_pre_hook_replaces_args_and_full_backward_hook():
    import torch

    def run(m, lib):
        lin = m.Linear(2, 2)
        with lib.no_grad():
            lin.weight.copy_(lib.tensor([[1.0, 2.0], [3.0, 4.0]]))
            lin.bias.zero_()
        lin.register_forward_pre_hook(lambda mod, args: (args[0] + 1,))
        grads = []
        lin.register_full_backward_hook(
            lambda mod, gin, gout: grads.append([None if g is None else g.tolist()
                                                 for g in gin + gout]))
        x = lib.ones((1, 2), requires_grad=True)
        out = lin(x)
        out.sum().backward()
        return out.tolist(), grads, x.grad.tolist()

    assert run(nn, gt) == run(torch.nn, torch)


def test_requires_grad_false_freezes_and_optimizers_skip():
    import torch

    def run(m, lib, optim):
        lib.manual_seed(0)
        net = m.Sequential(m.Linear(3, 4), m.ReLU(), m.Linear(4, 2))
        return net

    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    ours = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    ours.load_state_dict({k: gt.tensor(v.detach().numpy()) for k, v in
                          theirs.state_dict().items()})
    ours[0].requires_grad_(False)
    theirs[0].requires_grad_(False)
    assert [p.requires_grad for p in ours.parameters()] == \
        [p.requires_grad for p in theirs.parameters()]
    opt = gt.optim.SGD(ours.parameters(), lr=0.1, momentum=0.9, weight_decay=0.1)
    topt = torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9, weight_decay=0.1)
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    for _ in range(3):
        opt.zero_grad()
        topt.zero_grad()
        ours(gt.tensor(x)).pow(2).sum().backward()
        theirs(torch.tensor(x)).pow(2).sum().backward()
        assert ours[0].weight.grad is None
        opt.step()
        topt.step()
    for (n, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), rtol=1e-5,
                                   atol=1e-6, err_msg=n)
    assert len(opt.state) == len(topt.state)
    _ = run


def test_train_eval_flags_propagate_and_return_self():
    import torch

    for m in (nn, torch.nn):
        net = m.Sequential(m.Linear(2, 2), m.Sequential(m.Dropout(), m.BatchNorm1d(2)))
        assert net.eval() is net
        assert [mod.training for mod in net.modules()] == [False] * 5
        net.train(False)
        net[1].train()
        assert [mod.training for mod in net.modules()] == [False, False, True, True, True]


def test_zero_grad_set_to_none_false_keeps_zero_tensors():
    lin = nn.Linear(2, 2)
    lin(gt.ones((1, 2))).sum().backward()
    grad = lin.weight.grad
    once = grad.numpy().copy()
    lin.zero_grad(set_to_none=False)
    assert lin.weight.grad is grad
    assert not lin.weight.grad.numpy().any()
    lin(gt.ones((1, 2))).sum().backward()
    np.testing.assert_allclose(lin.weight.grad.numpy(), once)
    opt = gt.optim.SGD(lin.parameters(), lr=0.1)
    opt.zero_grad(set_to_none=False)
    assert not lin.weight.grad.numpy().any()
    lin(gt.ones((1, 2))).sum().backward()
    np.testing.assert_allclose(lin.weight.grad.numpy(), once)
    lin.zero_grad()
    assert lin.weight.grad is None


def test_extra_state_round_trip_and_strictness():
    import torch

    def run(m, lib):
        class Counter(m.Module):
            def __init__(self):
                super().__init__()
                self.lin = m.Linear(1, 1)
                self.seen = 3

            def get_extra_state(self):
                return {"seen": self.seen}

            def set_extra_state(self, state):
                self.seen = state["seen"] + 1

        a = m.Sequential(Counter())
        sd = a.state_dict()
        b = m.Sequential(Counter())
        b.load_state_dict(sd)
        sd.pop("0._extra_state")
        res = b.load_state_dict(sd, strict=False)
        plain = m.Linear(1, 1)
        extra = dict(plain.state_dict(), _extra_state=1)
        res2 = plain.load_state_dict(extra, strict=False)
        return list(a.state_dict()), b[0].seen, repr(res), repr(res2)

    assert run(nn, gt) == run(torch.nn, torch)


def test_load_state_dict_post_hook_edits_keys():
    import torch

    def run(m, lib):
        lin = m.Linear(1, 1)
        calls = []

        def hook(mod, keys):
            calls.append((type(mod).__name__, list(keys.missing_keys)))
            keys.missing_keys.clear()

        handle = lin.register_load_state_dict_post_hook(hook)
        ok = lin.load_state_dict({"weight": lib.ones(1, 1)})
        handle.remove()
        with pytest.raises(RuntimeError):
            lin.load_state_dict({"weight": lib.ones(1, 1)})
        return repr(ok), calls

    assert run(nn, gt) == run(torch.nn, torch)


def test_sequential_pop_and_iadd():
    import torch

    def run(m):
        s = m.Sequential(m.ReLU(), m.Tanh(), m.ELU())
        popped = s.pop(1)
        s += m.Sequential(m.SiLU())
        return repr(popped), repr(s)

    assert run(nn) == run(torch.nn)


def test_state_dict_metadata_versions_and_old_batchnorm_checkpoints():
    import torch

    def run(m, lib):
        net = m.Sequential(m.Linear(2, 2), m.BatchNorm1d(2))
        sd = net.state_dict()
        versions = {k: v["version"] for k, v in sd._metadata.items()}
        fresh = m.Sequential(m.Linear(2, 2), m.BatchNorm1d(2))
        # a current checkpoint without the counter reports it missing ...
        current = type(sd)((k, v) for k, v in sd.items() if "num_batches" not in k)
        current._metadata = sd._metadata
        res = fresh.load_state_dict(current, strict=False)
        # ... an old one (plain dict, no versions) loads with a zero count
        fresh[1].num_batches_tracked.fill_(5)
        old = {k: v for k, v in sd.items() if "num_batches" not in k}
        fresh.load_state_dict(old)
        return versions, repr(res), int(fresh[1].num_batches_tracked)

    assert run(nn, gt) == run(torch.nn, torch)
