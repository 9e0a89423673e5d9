"""The steps Adam, AdamW, Adamax, NAdam and RAdam share, in PyTorch's order of evaluation."""

from __future__ import annotations

from typing import Any

from graphtorch.optim._state import check_range


def check_adam_options(lr: float, betas: tuple[float, float], eps: float,
                       weight_decay: float) -> None:
    """PyTorch's validation of the options every Adam variant takes."""
    check_range("learning rate", lr)
    check_range("epsilon value", eps)
    check_range("beta parameter at index 0", betas[0], 0.0, 1.0)
    check_range("beta parameter at index 1", betas[1], 0.0, 1.0)
    check_range("weight_decay value", weight_decay)


def decayed_grad(xp, p, grad, lr: float, weight_decay: float, maximize: bool,
                 decoupled: bool):
    """The gradient after ``maximize`` and weight decay: an L2 term added to it, or (decoupled)
    ``p *= 1 - lr * weight_decay`` applied to the parameter array in place."""
    if maximize:
        grad = xp.negative(grad)
    if weight_decay != 0:
        if decoupled:
            xp.multiply(p, 1 - lr * weight_decay, out=p)
        else:
            grad = grad + weight_decay * p
    return grad


def update_moments(xp, state: dict[str, Any], grad, beta1: float, beta2: float):
    """``exp_avg = lerp(exp_avg, g, 1 - beta1)``, ``exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2)
    * g * g`` in place; returns both arrays."""
    m, v = state["exp_avg"]._data, state["exp_avg_sq"]._data
    # lerp(m, g, w) for w < 0.5 is m + w * (g - m), as PyTorch evaluates it
    xp.add(m, (1 - beta1) * (grad - m), out=m)
    xp.multiply(v, beta2, out=v)
    xp.add(v, (1 - beta2) * grad * grad, out=v)
    state["exp_avg"]._vc[0] += 1
    state["exp_avg_sq"]._vc[0] += 1
    return m, v
