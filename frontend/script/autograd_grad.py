"""``graphtorch.autograd.grad`` called from script.

The call becomes a ``prim::PythonOp`` that runs the eager autograd engine on the tensors the
graph has computed so far: a graph holding it runs on the eager tape whenever grad mode is on
(the autodiff pass declines graphs with Python calls, and the plans and the codegen executor
run such a graph on the interpreter), so the tensors reaching the call carry their history and
the gradients are eager's own. As in TorchScript,
the result is a ``List[Optional[Tensor]]`` (eager Python returns a tuple of the same tensors).
"""

from __future__ import annotations

from graphtorch import autograd


def script_grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
                allow_unused=False):
    """What ``graphtorch.autograd.grad(...)`` computes, as a list."""
    return list(autograd.grad(outputs, inputs, grad_outputs, retain_graph, create_graph,
                              allow_unused))


# NOTE: read by the runtime (plan.py, cpu_codegen.py): a graph calling it runs on the eager tape
# whenever grad mode is on, even when no input requires grad (tensors made in the graph may)
script_grad._gt_runs_autograd = True
