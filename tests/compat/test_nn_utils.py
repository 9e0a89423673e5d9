"""graphtorch.nn.utils (clipping, parameter vectors) against torch.nn.utils."""

from __future__ import annotations

import numpy as np
import pytest

import graphtorch
from tests.compat.harness import run_both

pytestmark = pytest.mark.torch


def _params(torch, grads):
    params = []
    for g in grads:
        p = torch.nn.Parameter(torch.zeros(g.shape))
        p.grad = torch.tensor(g)
        params.append(p)
    return params


def clip_program(torch, grads):
    U = torch.nn.utils
    out = {}
    for norm_type in (2.0, 1, float("inf"), 3.5):
        for max_norm in (0.5, 100.0):
            params = _params(torch, grads)
            total = U.clip_grad_norm_(params, max_norm, norm_type=norm_type)
            out[f"norm {norm_type} {max_norm}"] = [total] + [p.grad for p in params]
    params = _params(torch, grads)
    out["single tensor"] = [U.clip_grad_norm_(params[0], 0.1), params[0].grad]
    params = _params(torch, grads)
    U.clip_grad_value_(params, 0.3)
    out["value"] = [p.grad for p in params]
    params = _params(torch, grads) + [torch.nn.Parameter(torch.ones(2))]
    out["missing grad"] = U.clip_grad_norm_(params, 1.0)
    out["no grads"] = U.clip_grad_norm_([torch.nn.Parameter(torch.ones(2))], 1.0)
    total = U.get_total_norm([torch.tensor(g) for g in grads])
    params = _params(torch, grads)
    U.clip_grads_with_norm_(params, 0.2, total)
    out["two step"] = [total] + [p.grad for p in params]
    return out


def test_clip_grad_matches_torch():
    rng = np.random.default_rng(1)
    grads = [rng.standard_normal(s).astype(np.float32) for s in [(3, 4), (4,), (2, 2, 2)]]
    run_both(clip_program, grads)


def vector_program(torch, state):
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    model.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
    vec = torch.nn.utils.parameters_to_vector(model.parameters())
    (vec * vec).sum().backward()
    new = torch.arange(vec.numel(), dtype=torch.float32)
    torch.nn.utils.vector_to_parameters(new, model.parameters())
    return {"vec": vec, "grads": [p.grad for p in model.parameters()],
            "after": model.state_dict(), "out": model(torch.ones(1, 3))}


def test_parameter_vectors_match_torch():
    rng = np.random.default_rng(2)
    state = {"0.weight": rng.standard_normal((4, 3)), "0.bias": rng.standard_normal(4),
             "1.weight": rng.standard_normal((2, 4)), "1.bias": rng.standard_normal(2)}
    run_both(vector_program, {k: v.astype(np.float32) for k, v in state.items()})


def test_nonfinite_norm_raises_when_asked():
    p = graphtorch.nn.Parameter(graphtorch.zeros(2))
    p.grad = graphtorch.tensor([float("inf"), 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        graphtorch.nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    with pytest.raises(TypeError, match="expected torch.Tensor"):
        graphtorch.nn.utils.vector_to_parameters([1.0], [p])


def pad_sequence_program(torch, seqs):
    from_np = [torch.tensor(s, requires_grad=True) for s in seqs]
    pad = torch.nn.utils.rnn.pad_sequence
    out = [pad(from_np), pad(from_np, batch_first=True, padding_value=-1.0),
           pad(from_np, batch_first=True, padding_side="left")]
    (out[0] * torch.arange(out[0].numel(), dtype=torch.float32).reshape(out[0].shape)).sum(
    ).backward()
    return out + [s.grad for s in from_np]


def test_pad_sequence_matches_torch():
    rng = np.random.default_rng(3)
    run_both(pad_sequence_program, [rng.standard_normal((n, 2)).astype(np.float32)
                                    for n in (3, 1, 4)])


def boilerplate_program(torch):
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    torch.use_deterministic_algorithms(True)
    enabled = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(False)
    torch.manual_seed(0)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return [enabled, torch.are_deterministic_algorithms_enabled(), str(device),
            torch.backends.cudnn.deterministic]


def test_seed_and_determinism_boilerplate():
    run_both(boilerplate_program)
