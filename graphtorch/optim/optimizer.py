"""``Optimizer``: parameter groups, per-parameter state, ``state_dict`` in PyTorch's layout.

Optimizer steps are not graph ops: subclasses update the parameters' arrays in place with the
array module (numpy or CuPy ufuncs with ``out=``) and bump each parameter's version counter, so
autograd still notices a parameter modified after it was saved for backward.
"""

from __future__ import annotations

import copy
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from graphtorch.autograd import enable_grad
from graphtorch.errors import ArgumentError, UnsupportedError
from graphtorch.tensor import Tensor


class _RequiredParameter:
    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


def implementation_options(foreach: bool | None = None, differentiable: bool = False,
                           **flags: Any) -> dict[str, Any]:
    """PyTorch's implementation switches (``foreach``, ``fused``, ``capturable`` ...).

    They choose between kernels with the same numerics in PyTorch; graphtorch has one kernel,
    so they are accepted and kept in the param groups (state dicts stay interchangeable).
    ``differentiable=True`` would need steps recorded by autograd, which graphtorch lacks.
    """
    if differentiable:
        raise UnsupportedError("graphtorch optimizers do not support differentiable=True "
                               "(steps update parameters outside autograd)")
    return dict(foreach=foreach, differentiable=differentiable, **flags)


class Optimizer:
    """Base class of all optimizers (``graphtorch.optim.Optimizer``).

    ``params`` is an iterable of tensors, of ``(name, tensor)`` pairs, or of dicts defining
    parameter groups (each with a ``"params"`` entry and per-group options overriding
    ``defaults``).
    """

    def __init__(self, params: Iterable, defaults: dict[str, Any]):
        self.defaults = defaults
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        self._step_pre_hooks: list[Callable] = []
        self._step_post_hooks: list[Callable] = []
        if isinstance(params, Tensor):
            raise ArgumentError("params argument given to the optimizer should be an iterable of "
                                f"Tensors or dicts, but got {_type_name(params)}")
        groups = list(params)
        if len(groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # -- groups ------------------------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own options (e.g. a new layer while fine-tuning)."""
        if not isinstance(param_group, dict):
            raise ArgumentError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise ArgumentError("optimizer parameters need to be organized in ordered collections, "
                                "but the ordering of tensors in sets will change between runs. "
                                "Please use a list instead.")
        params = list(params)
        names = []
        if params and isinstance(params[0], tuple):
            names = [name for name, _ in params]
            params = [p for _, p in params]
        for p in params:
            if not isinstance(p, Tensor):
                raise ArgumentError("optimizer can only optimize Tensors, but one of the params "
                                    f"is {_type_name(p)}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        group = dict(param_group)
        group["params"] = params
        if names:
            group["param_names"] = names
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError("parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            group.setdefault(name, default)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in params}) != len(params):
            # NOTE: PyTorch only warns (and then steps such a parameter once per occurrence)
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in "
                          "future, this will cause an error; see "
                          "github.com/pytorch/pytorch/issues/40967 for more information",
                          stacklevel=3)
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    # -- stepping ----------------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized tensors (to ``None`` by default, like PyTorch)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    g = p.grad
                    if g.grad_fn is not None:
                        g = g.detach()
                        p.grad = g
                    g._data[...] = 0
                    g._vc[0] += 1

    def step(self, closure: Callable[[], Any] | None = None):
        """Perform one optimization step; ``closure`` recomputes and returns the loss."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for hook in self._step_pre_hooks:
            hook(self, (), {})
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self._update(p, p.grad._data, group, self.state[p])
                    p._vc[0] += 1
        for hook in self._step_post_hooks:
            hook(self, (), {})
        return loss

    def _update(self, param: Tensor, grad, group: dict[str, Any], state: dict[str, Any]) -> None:
        """Update ``param._data`` in place from the gradient array ``grad``."""
        raise NotImplementedError(f"{type(self).__name__} does not implement _update")

    def register_step_pre_hook(self, hook: Callable) -> _HookHandle:
        self._step_pre_hooks.append(hook)
        return _HookHandle(self._step_pre_hooks, hook)

    def register_step_post_hook(self, hook: Callable) -> _HookHandle:
        self._step_post_hooks.append(hook)
        return _HookHandle(self._step_post_hooks, hook)

    # -- state dict --------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """``{"state": {index: {...}}, "param_groups": [{..., "params": [index, ...]}]}``.

        Parameters are replaced by their integer index in group order; state tensors are
        references (save or clone them to keep a snapshot), exactly like PyTorch.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {index[id(p)]: s for p, s in self.state.items() if id(p) in index and s}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a ``state_dict()``; state tensors follow each parameter's dtype, device."""
        state_dict = _copy_state(state_dict)
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        for mine, saved in zip(self.param_groups, saved_groups):
            if len(mine["params"]) != len(saved["params"]):
                raise ValueError("loaded state dict contains a parameter group that doesn't match "
                                 "the size of optimizer's group")
        by_index = {}
        for mine, saved in zip(self.param_groups, saved_groups):
            for i, p in zip(saved["params"], mine["params"]):
                by_index[i] = p
        self.state = defaultdict(dict)
        for key, value in state_dict["state"].items():
            key = int(key)
            if key not in by_index:
                continue
            p = by_index[key]
            self.state[p] = {name: _cast_state(name, v, p) for name, v in value.items()}
        new_groups = []
        for mine, saved in zip(self.param_groups, saved_groups):
            group = dict(saved)
            group["params"] = mine["params"]
            if "param_names" in mine:
                group["param_names"] = mine["param_names"]
            new_groups.append(group)
        self.param_groups = new_groups

    def __getstate__(self) -> dict[str, Any]:
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key not in ("params", "param_names"):
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


class _HookHandle:
    def __init__(self, hooks: list, hook: Callable):
        self._hooks, self._hook = hooks, hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


def _type_name(obj) -> str:
    if isinstance(obj, Tensor):
        return f"graphtorch.{type(obj).__name__}"
    return type(obj).__name__


def _copy_state(obj):
    """Deep-copy containers and tensors so the optimizer never aliases a caller's state dict."""
    if isinstance(obj, Tensor):
        return obj.detach().clone()
    if isinstance(obj, dict):
        return {k: _copy_state(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_copy_state(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_copy_state(v) for v in obj)
    return copy.copy(obj)


def _cast_state(name: str, value, param: Tensor):
    # NOTE: like PyTorch, "step" keeps its own dtype; other floating state follows the parameter.
    if not isinstance(value, Tensor):
        return value
    if name != "step" and value.dtype.is_floating_point:
        return value.to(dtype=param.dtype, device=param.device)
    return value.to(device=param.device)
