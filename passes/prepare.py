"""Prepare a compiled method or function for execution: inline, lift parameters, DCE."""

from __future__ import annotations

from graphtorch.passes.dce import eliminate_dead_code
from graphtorch.passes.inline import inline_calls
from graphtorch.passes.lift_params import lift_parameters
from graphtorch.passes.manager import PassContext


def prepare_method(module, name: str):
    """A copy of ``module.<name>``'s graph ready to run, and the lifted parameter paths."""
    graph = module._gt_methods[name].graph.copy()
    ctx = PassContext(module=module)
    inline_calls(graph, ctx)
    paths = lift_parameters(graph, module)
    eliminate_dead_code(graph, ctx)
    return graph, paths


def prepare_function(fn):
    graph = fn.graph.copy()
    inline_calls(graph, PassContext())
    eliminate_dead_code(graph, None)
    return graph
