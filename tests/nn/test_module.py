"""nn.Module semantics: registration, iteration, state_dict, printing, hooks, conversions."""

from __future__ import annotations

import copy
from collections import OrderedDict

import numpy as np
import pytest

import graphtorch as gt
from graphtorch import nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)
        self.norm = nn.LayerNorm(3)
        self.register_buffer("steps", gt.zeros(1))
        self.register_buffer("scratch", gt.zeros(2), persistent=False)

    def forward(self, x):
        return self.norm(self.fc(x)).relu()


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Block()
        self.layers = nn.ModuleList([nn.Linear(3, 3) for _ in range(3)])
        self.head = nn.Sequential(nn.Linear(3, 2), nn.Tanh())
        self.scale = nn.Parameter(gt.ones(1))

    def forward(self, x):
        x = self.block(x)
        for layer in self.layers:
            x = layer(x)
        return self.head(x) * self.scale


def test_parameter_is_a_tensor_leaf_requiring_grad():
    p = nn.Parameter(gt.zeros(2, 3))
    assert isinstance(p, gt.Tensor) and isinstance(p, nn.Parameter)
    assert p.requires_grad and p.is_leaf
    assert repr(p).startswith("Parameter containing:\ntensor(")
    y = (p * 2).sum()
    assert type(p * 2) is gt.Tensor
    y.backward()
    np.testing.assert_array_equal(p.grad.numpy(), np.full((2, 3), 2.0, np.float32))
    assert not nn.Parameter(gt.zeros(1), requires_grad=False).requires_grad


def test_named_parameters_order_and_prefixes():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["scale", "block.fc.weight", "block.fc.bias", "block.norm.weight",
                     "block.norm.bias", "layers.0.weight", "layers.0.bias", "layers.1.weight",
                     "layers.1.bias", "layers.2.weight", "layers.2.bias", "head.0.weight",
                     "head.0.bias"]
    assert [n for n, _ in net.named_parameters(prefix="m", recurse=False)] == ["m.scale"]
    assert [n for n, _ in net.named_buffers()] == ["block.steps", "block.scratch"]
    assert [n for n, _ in net.named_children()] == ["block", "layers", "head"]
    assert [n for n, _ in net.named_modules()][:4] == ["", "block", "block.fc", "block.norm"]
    assert len(list(net.modules())) == 11


def test_shared_parameters_are_deduplicated():
    lin = nn.Linear(2, 2)
    seq = nn.Sequential(lin, lin)
    assert len(list(seq.parameters())) == 2
    assert [n for n, _ in seq.named_parameters(remove_duplicate=False)] == [
        "0.weight", "0.bias", "1.weight", "1.bias"]
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]


def test_setattr_registration_rules():
    m = nn.Module()
    m.w = nn.Parameter(gt.zeros(1))
    m.sub = nn.Linear(1, 1)
    m.register_buffer("b", gt.ones(1))
    m.plain = 3
    assert set(m._parameters) == {"w"} and set(m._modules) == {"sub"}
    with pytest.raises(TypeError, match=r"cannot assign 'graphtorch.Tensor' as parameter 'w'"):
        m.w = gt.zeros(1)
    m.w = None
    assert m.w is None and "w" in m._parameters
    with pytest.raises(TypeError, match="cannot assign 'int' as child module 'sub'"):
        m.sub = 3
    with pytest.raises(TypeError, match="cannot assign 'str' as buffer 'b'"):
        m.b = "x"
    with pytest.raises(KeyError, match="attribute 'plain' already exists"):
        m.register_buffer("plain", gt.zeros(1))
    with pytest.raises(KeyError, match="contain"):
        m.register_parameter("a.b", None)
    del m.sub
    assert "sub" not in m._modules
    with pytest.raises(AttributeError, match="'Module' object has no attribute 'sub'"):
        _ = m.sub


def test_assign_before_init_raises():
    class Bad(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(1, 1)
            super().__init__()

    with pytest.raises(AttributeError, match=r"cannot assign module before Module.__init__"):
        Bad()


def test_non_leaf_parameter_registration_raises():
    m = nn.Module()
    p = nn.Parameter(gt.ones(1))
    with pytest.raises(TypeError):
        m.register_parameter("q", p * 2)


def test_state_dict_keys_values_and_keep_vars():
    net = Net()
    sd = net.state_dict()
    # NOTE: a module's own buffers come before its children's entries, as in PyTorch
    assert list(sd) == ["scale", "block.steps", "block.fc.weight", "block.fc.bias",
                        "block.norm.weight", "block.norm.bias", "layers.0.weight", "layers.0.bias",
                        "layers.1.weight", "layers.1.bias", "layers.2.weight", "layers.2.bias",
                        "head.0.weight", "head.0.bias"]
    assert not sd["block.fc.weight"].requires_grad
    assert net.state_dict(keep_vars=True)["block.fc.weight"] is net.block.fc.weight


def test_load_state_dict_roundtrip_copies_in_place():
    a, b = Net(), Net()
    w = b.block.fc.weight
    result = b.load_state_dict(a.state_dict())
    assert repr(result) == "<All keys matched successfully>"
    assert b.block.fc.weight is w
    for (n, p), (_, q) in zip(a.state_dict().items(), b.state_dict().items()):
        np.testing.assert_array_equal(p.numpy(), q.numpy(), err_msg=n)


@pytest.mark.torch
def test_load_state_dict_errors_match_pytorch():
    import torch

    def both(builder):
        return builder(nn), builder(torch.nn)

    def make(lib):
        return lib.Sequential(lib.Linear(2, 3), lib.ReLU(), lib.Linear(3, 1))

    ours, theirs = both(make)
    bad_ours = {k: v for k, v in ours.state_dict().items() if k != "2.bias"}
    bad_ours["extra.weight"] = gt.zeros(1)
    bad_ours["0.weight"] = gt.zeros(4, 2)
    bad_theirs = {k: v for k, v in theirs.state_dict().items() if k != "2.bias"}
    bad_theirs["extra.weight"] = torch.zeros(1)
    bad_theirs["0.weight"] = torch.zeros(4, 2)
    with pytest.raises(RuntimeError) as ours_err:
        ours.load_state_dict(bad_ours)
    with pytest.raises(RuntimeError) as theirs_err:
        theirs.load_state_dict(bad_theirs)
    assert str(ours_err.value) == str(theirs_err.value).replace("torch.", "graphtorch.")

    del bad_ours["0.weight"], bad_theirs["0.weight"]
    res = ours.load_state_dict(bad_ours, strict=False)
    tres = theirs.load_state_dict(bad_theirs, strict=False)
    assert res.missing_keys == tres.missing_keys == ["0.weight", "2.bias"]
    assert res.unexpected_keys == tres.unexpected_keys == ["extra.weight"]
    assert repr(res) == repr(tres)


@pytest.mark.torch
def test_print_matches_pytorch_for_nested_model():
    import torch

    def build(lib):
        class Inner(lib.Module):
            def __init__(self):
                super().__init__()
                self.proj = lib.Linear(8, 8, bias=False)
                self.act = lib.GELU(approximate="tanh")
                self.norm = lib.LayerNorm((8,), eps=1e-6)

        class Model(lib.Module):
            def __init__(self):
                super().__init__()
                self.embed = lib.Embedding(10, 8, padding_idx=0)
                self.blocks = lib.ModuleList([Inner() for _ in range(3)] + [lib.Identity()])
                self.heads = lib.ModuleDict({"cls": lib.Linear(8, 2), "reg": lib.Sequential(
                    lib.Dropout(0.1), lib.Linear(8, 1), lib.Sigmoid())})
                self.bn = lib.BatchNorm1d(8, momentum=None)
                self.gn = lib.GroupNorm(2, 8)
                self.acts = lib.Sequential(lib.ReLU(inplace=True), lib.LeakyReLU(0.2),
                                           lib.ELU(), lib.Softplus(beta=2.0), lib.Hardtanh(),
                                           lib.ReLU6(), lib.SiLU(), lib.Mish(), lib.Tanh(),
                                           lib.Softmax(dim=-1), lib.LogSoftmax(dim=1),
                                           lib.Flatten(), lib.Unflatten(1, (2, 4)),
                                           lib.PReLU(), lib.Bilinear(2, 3, 4),
                                           lib.Dropout2d(0.3))
                self.losses = lib.ModuleList([lib.MSELoss(), lib.CrossEntropyLoss(
                    label_smoothing=0.1), lib.BCEWithLogitsLoss(), lib.KLDivLoss()])

        return Model()

    ours = repr(build(nn))
    theirs = repr(build(torch.nn))
    assert ours == theirs


@pytest.mark.torch
def test_parameter_containers_print_like_pytorch():
    import torch

    def build(lib, t):
        m = lib.Module()
        m.plist = lib.ParameterList([lib.Parameter(t.zeros(2, 3)), lib.Parameter(t.ones(4))])
        m.pdict = lib.ParameterDict({"a": lib.Parameter(t.zeros(5))})
        return m

    assert repr(build(nn, gt)) == repr(build(torch.nn, torch)).replace("torch.", "graphtorch.")


def test_sequential_indexing_slicing_append():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert isinstance(seq[0], nn.Linear) and isinstance(seq[-1], nn.Linear)
    sub = seq[1:]
    assert isinstance(sub, nn.Sequential) and len(sub) == 2
    assert list(sub._modules) == ["1", "2"]
    seq.append(nn.Sigmoid())
    assert len(seq) == 4 and isinstance(seq[3], nn.Sigmoid)
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
    assert [n for n, _ in named.named_children()] == ["fc", "act"]
    with pytest.raises(IndexError):
        seq[7]
    x = gt.randn(5, 2)
    np.testing.assert_allclose(seq(x).numpy(force=True),
                               seq[3](seq[2](seq[1](seq[0](x)))).numpy(force=True))


def test_module_list_and_dicts():
    ml = nn.ModuleList([nn.Linear(1, 1)])
    ml.append(nn.ReLU())
    ml.extend([nn.Tanh()])
    ml.insert(0, nn.Identity())
    assert [type(m).__name__ for m in ml] == ["Identity", "Linear", "ReLU", "Tanh"]
    md = nn.ModuleDict({"a": nn.Linear(1, 2)})
    md["b"] = nn.Linear(2, 1)
    assert list(md.keys()) == ["a", "b"] and "a" in md
    assert [n for n, _ in md.named_parameters()] == ["a.weight", "a.bias", "b.weight", "b.bias"]
    pl = nn.ParameterList([gt.zeros(2)])
    pl.append(nn.Parameter(gt.ones(1)))
    assert all(isinstance(p, nn.Parameter) for p in pl) and len(pl) == 2
    assert [n for n, _ in pl.named_parameters()] == ["0", "1"]
    pd = nn.ParameterDict({"w": gt.zeros(3)})
    assert isinstance(pd["w"], nn.Parameter) and list(pd.keys()) == ["w"]


def test_train_eval_apply_zero_grad_requires_grad():
    net = Net()
    net.eval()
    assert all(not m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        net.train("yes")
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen[-1] == "Net" and seen[0] == "Linear"
    net(gt.randn(2, 4)).sum().backward()
    assert net.block.fc.weight.grad is not None
    net.zero_grad(set_to_none=False)
    assert float(net.block.fc.weight.grad.abs().sum()) == 0.0
    net.zero_grad()
    assert net.block.fc.weight.grad is None
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())


def test_to_double_keeps_parameter_identity_and_int_buffers():
    bn = nn.BatchNorm1d(3)
    w = bn.weight
    bn.double()
    assert bn.weight is w and w.dtype is gt.float64
    assert bn.running_mean.dtype is gt.float64
    assert bn.num_batches_tracked.dtype is gt.int64
    bn.to(gt.float32)
    assert bn.weight.dtype is gt.float32
    bn.half()
    assert bn.weight.dtype is gt.float16
    bn.to("cpu")
    with pytest.raises(TypeError, match="floating point"):
        bn.to(gt.int32)


def test_forward_hooks_and_pre_hooks():
    lin = nn.Linear(2, 2)
    calls = []

    def pre(mod, args):
        calls.append("pre")
        return (args[0] * 0,)

    def post(mod, args, out):
        calls.append("post")
        return out + 1

    h1 = lin.register_forward_pre_hook(pre)
    h2 = lin.register_forward_hook(post)
    out = lin(gt.randn(3, 2))
    np.testing.assert_allclose(out.detach().numpy(), (lin.bias.detach().numpy() + 1)[None]
                               .repeat(3, 0), rtol=1e-6)
    assert calls == ["pre", "post"]
    h1.remove()
    h2.remove()
    calls.clear()
    lin(gt.randn(1, 2))
    assert calls == []

    def kw_pre(mod, args, kwargs):
        return args, kwargs

    def kw_post(mod, args, kwargs, out):
        calls.append(sorted(kwargs))

    lin.register_forward_pre_hook(kw_pre, with_kwargs=True)
    lin.register_forward_hook(kw_post, with_kwargs=True)
    lin(input=gt.randn(1, 2))
    assert calls == [["input"]]


def test_forward_is_required():
    with pytest.raises(NotImplementedError, match=r'missing the required "forward" function'):
        nn.Module()(1)


def test_deepcopy_makes_independent_parameters():
    net = Net()
    clone = copy.deepcopy(net)
    assert clone.block.fc.weight is not net.block.fc.weight
    np.testing.assert_array_equal(clone.block.fc.weight.detach().numpy(),
                                  net.block.fc.weight.detach().numpy())
    with gt.no_grad():
        clone.block.fc.weight.fill_(0.0)
    assert float(net.block.fc.weight.abs().sum()) > 0
    assert isinstance(clone.block.fc.weight, nn.Parameter)


def test_get_submodule_and_parameter():
    net = Net()
    assert net.get_submodule("block.fc") is net.block.fc
    assert net.get_parameter("layers.1.bias") is net.layers[1].bias
    with pytest.raises(AttributeError):
        net.get_submodule("block.nope")


@pytest.mark.torch
def test_full_backward_hooks_match_pytorch():
    import torch

    def run(seq, t, x):
        record = []
        seq[1].register_full_backward_pre_hook(lambda m, go: (go[0] * 2,))
        seq[1].register_full_backward_hook(
            lambda m, gi, go: record.append((gi[0].detach().numpy().copy(),
                                             go[0].detach().numpy().copy())))
        seq[0].register_full_backward_hook(lambda m, gi, go: (gi[0] * 0.5,))
        xt = t.tensor(x, requires_grad=True)
        seq(xt).sum().backward()
        return record, xt.grad.numpy()

    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh())
    ours = nn.Sequential(nn.Linear(3, 4), nn.Tanh())
    ours.load_state_dict({k: gt.tensor(v.detach().numpy()) for k, v in
                          theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    ours_rec, ours_grad = run(ours, gt, x)
    theirs_rec, theirs_grad = run(theirs, torch, x)
    assert len(ours_rec) == len(theirs_rec) == 1
    for a, b in zip(ours_rec[0], theirs_rec[0]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours_grad, theirs_grad, rtol=1e-5, atol=1e-6)


def test_full_backward_hook_replaces_input_grad():
    lin = nn.Linear(2, 2)
    seen = []
    lin.register_full_backward_hook(lambda m, gi, go: seen.append(go[0].shape) or (gi[0] * 0,))
    x = gt.randn(3, 2, requires_grad=True)
    lin(x).sum().backward()
    assert seen == [gt.Size([3, 2])]
    assert float(x.grad.abs().sum()) == 0.0
    assert lin.weight.grad is not None
