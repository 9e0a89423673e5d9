"""Adagrad (Duchi et al.) with learning-rate decay and weight decay."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from graphtorch.optim._state import bump_step, check_range, step_state, zeros_state
from graphtorch.optim.optimizer import Optimizer, implementation_options
from graphtorch.tensor import Tensor


class Adagrad(Optimizer):
    """``graphtorch.optim.Adagrad``: ``sum += g * g; p -= clr * g / (sqrt(sum) + eps)``.

    ``clr = lr / (1 + (step - 1) * lr_decay)``; the state (``step``, ``sum``) is created at
    construction, as in PyTorch, so ``state_dict()`` is complete before the first step.
    """

    def __init__(self, params: Iterable, lr: float = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0,
                 eps: float = 1e-10, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: bool | None = None):
        check_range("learning rate", lr)
        check_range("lr_decay value", lr_decay)
        check_range("weight_decay value", weight_decay)
        check_range("initial_accumulator_value value", initial_accumulator_value)
        check_range("epsilon value", eps)
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, eps=eps,
                                      weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      maximize=maximize,
                                      **implementation_options(foreach, differentiable,
                                                               fused=fused)))

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        super().add_param_group(param_group)
        for p in self.param_groups[-1]["params"]:
            self._init_state(p, self.param_groups[-1])

    def _init_state(self, param: Tensor, group: dict[str, Any]) -> None:
        state = self.state[param]
        if not state:
            state["step"] = step_state()
            state["sum"] = zeros_state(param, group["initial_accumulator_value"])

    def _update(self, param: Tensor, grad, group: dict[str, Any], state: dict[str, Any]) -> None:
        xp, p = param._xp, param._data
        step = bump_step(state["step"])
        if group["maximize"]:
            grad = xp.negative(grad)
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * p
        clr = group["lr"] / (1 + (step - 1) * group["lr_decay"])
        s = state["sum"]._data
        xp.add(s, grad * grad, out=s)
        state["sum"]._vc[0] += 1
        std = xp.sqrt(s)
        xp.add(std, group["eps"], out=std)
        xp.subtract(p, clr * (grad / std), out=p)
