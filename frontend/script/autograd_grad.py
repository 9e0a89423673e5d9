"""``graphtorch.autograd.grad`` called from script.

The call becomes a ``prim::PythonOp`` that runs the eager autograd engine on the tensors the
graph has computed so far: a graph whose inputs require grad runs on the eager tape (the
autodiff pass declines graphs with Python calls, runtime/autodiff_exec.py), so the tensors
reaching the call carry their history and the gradients are eager's own. As in TorchScript,
the result is a ``List[Optional[Tensor]]`` (eager Python returns a tuple of the same tensors).
"""

from __future__ import annotations

from graphtorch import autograd


def script_grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
                allow_unused=False):
    """What ``graphtorch.autograd.grad(...)`` computes, as a list."""
    return list(autograd.grad(outputs, inputs, grad_outputs, retain_graph, create_graph,
                              allow_unused))
