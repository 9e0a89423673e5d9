"""Hook handles: ``handle.remove()`` unregisters a hook added by ``register_*_hook``."""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Callable

from graphtorch.tensor import Tensor


class RemovableHandle:
    """Returned by ``register_*_hook``; ``handle.remove()`` unregisters the hook."""

    _next_id = itertools.count()

    def __init__(self, *hook_dicts: dict):
        self.id = next(RemovableHandle._next_id)
        self._dicts = hook_dicts

    def remove(self) -> None:
        for d in self._dicts:
            d.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


def _add_hook(hooks: OrderedDict, hid: int, hook: Callable, prepend: bool) -> None:
    hooks[hid] = hook
    if prepend:
        hooks.move_to_end(hid, last=False)


class BackwardHook:
    """Runs a module's full backward (pre-)hooks from tensor hooks on its inputs and outputs.

    Outputs get a hook that collects grad_output (backward pre-hooks may replace it); each input
    requiring grad is passed through an alias whose hook collects grad_input. When the last
    input gradient arrives, ``hook(module, grad_input, grad_output)`` runs; a returned tuple
    replaces the gradient of the input whose hook fired last (NOTE: so replacement is exact for
    single-input modules, the common case; PyTorch replaces all of them).
    """

    def __init__(self, module, hooks: dict, pre_hooks: dict):
        self.module = module
        self.hooks = list(hooks.values())
        self.pre_hooks = list(pre_hooks.values())
        self.grad_outputs: list = []
        self.grad_inputs: list = []
        self.n_outputs = 0
        self.pending_inputs = 0

    def wrap_inputs(self, args: tuple) -> tuple:
        out = []
        for a in args:
            if isinstance(a, Tensor) and a.requires_grad:
                slot = len(self.grad_inputs)
                self.grad_inputs.append(None)
                a = a.view_as(a)
                a.register_hook(self._input_hook(slot))
                self.pending_inputs += 1
            out.append(a)
        return tuple(out)

    def wrap_outputs(self, result):
        outs = result if isinstance(result, tuple) else (result,)
        tensors = [o for o in outs if isinstance(o, Tensor) and o.requires_grad]
        self.n_outputs = len(tensors)
        self.grad_outputs = [None] * len(tensors)
        for slot, o in enumerate(tensors):
            o.register_hook(self._output_hook(slot))
        return result

    def _output_hook(self, slot: int):
        def hook(grad):
            self.grad_outputs[slot] = grad
            if any(g is None for g in self.grad_outputs):
                return None
            grads = tuple(self.grad_outputs)
            for pre in self.pre_hooks:
                res = pre(self.module, grads)
                if res is not None:
                    grads = tuple(res)
            self.grad_outputs = list(grads)
            if self.pending_inputs == 0:
                self._run((None,))
            return grads[slot]

        return hook

    def _input_hook(self, slot: int):
        def hook(grad):
            self.grad_inputs[slot] = grad
            self.pending_inputs -= 1
            if self.pending_inputs:
                return None
            res = self._run(tuple(self.grad_inputs))
            return None if res is None else res[slot]

        return hook

    def _run(self, grad_inputs: tuple):
        result = None
        for h in self.hooks:
            res = h(self.module, grad_inputs, tuple(self.grad_outputs))
            if res is not None:
                grad_inputs = result = tuple(res)
        return result
