"""The pass manager: passes registered by name, pipelines as plain lists of names.

A pass is ``fn(graph, ctx) -> bool`` (changed or not), rewriting the graph in place. With
``verify=True`` (tests turn it on) the verifier runs after every pass; ``GT_DEBUG=1`` prints the
graph after each pass.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field

from graphtorch.errors import GraphError
from graphtorch.ir.verifier import verify as verify_graph


@dataclass
class PassContext:
    """What a pass may know beyond the graph: the module it belongs to, options."""

    module: object = None
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class PassInfo:
    name: str
    fn: Callable
    doc: str


PASSES: dict[str, PassInfo] = {}

# The optimization levels, each one readable list (later levels extend earlier ones).
PIPELINES: dict[str, list[str]] = {
    "O0": [],
    "O1": ["canonicalize", "constant_fold", "cse", "dce"],
    "O2": ["canonicalize", "constant_fold", "cse", "dce", "decompose", "fuse_elementwise", "dce"],
}

# A pipeline run by name repeats until nothing changes, at most this many rounds.
MAX_PIPELINE_ROUNDS = 8


def register_pass(name: str):
    def deco(fn):
        if name in PASSES:
            raise ValueError(f"pass {name!r} registered twice")
        PASSES[name] = PassInfo(name, fn, (fn.__doc__ or "").strip().splitlines()[0]
                                if fn.__doc__ else "")
        return fn

    return deco


def get_pass(name: str) -> PassInfo:
    if name not in PASSES:
        _import_pass_module(name)
    try:
        return PASSES[name]
    except KeyError:
        raise GraphError(f"unknown pass {name!r}; known passes: {sorted(PASSES)}") from None


def _import_pass_module(name: str) -> None:
    """Passes register on import; a pass lives in the module of its name (cse -> cse.py)."""
    try:
        importlib.import_module(f"graphtorch.passes.{name}")
    except ModuleNotFoundError as e:
        if e.name != f"graphtorch.passes.{name}":
            raise


def run_passes(graph, names, ctx: PassContext | None = None, verify: bool = False) -> bool:
    """Run the named passes (or a pipeline name like "O1") in order; True if any changed.

    A pipeline name runs its list again while any pass changed the graph (one pass exposes
    work for another: folding makes duplicates, CSE makes dead code), bounded.
    """
    if isinstance(names, str):
        if names not in PIPELINES:
            raise GraphError(f"unknown pipeline {names!r}; known: {sorted(PIPELINES)}")
        changed_any = False
        for _ in range(MAX_PIPELINE_ROUNDS):
            if not run_passes(graph, PIPELINES[names], ctx, verify):
                break
            changed_any = True
        return changed_any
    ctx = ctx or PassContext()
    debug = os.environ.get("GT_DEBUG") == "1"
    changed_any = False
    for name in names:
        info = get_pass(name)
        changed = bool(info.fn(graph, ctx))
        changed_any |= changed
        if verify:
            verify_graph(graph)
        if debug:
            print(f"--- after {name} ({'changed' if changed else 'unchanged'}) ---\n{graph}")
    return changed_any
