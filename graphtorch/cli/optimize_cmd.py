"""``graphtorch optimize MODEL -o OUT``: run a pass pipeline offline and save the result."""

from __future__ import annotations

import importlib
import pkgutil

import graphtorch.passes as passes
from graphtorch.archive import load, save
from graphtorch.cli.errors import UsageError, emit_json
from graphtorch.cli.run_cmd import output_path
from graphtorch.frontend.script_module import ScriptModule
from graphtorch.passes.manager import PIPELINES, PassContext, run_passes


def add_parser(sub):
    p = sub.add_parser("optimize", help="run a pass pipeline (O1) offline and save the result")
    p.add_argument("model", help="a .gt archive")
    p.add_argument("-o", "--output", required=True, metavar="OUT.gt", help="where to save")
    p.add_argument("--level", default="O1", help="pipeline: O0, O1 (default) or O2")
    p.set_defaults(handler=run)
    return p


def run(args) -> int:
    _import_passes()
    if args.level not in PIPELINES:
        raise UsageError(f"unknown pipeline {args.level!r}; known: {sorted(PIPELINES)}")
    output_path(args.output, args.model, "model.gt", may_be_model=True)
    names = PIPELINES[args.level]
    obj = load(args.model)
    report = []
    for path, owner, method in _methods(obj):
        before = len(method.graph.walk())
        # NOTE: the pipeline by name: run_passes repeats it until nothing changes
        changed = run_passes(method.graph, args.level, PassContext(module=owner), verify=True)
        after = len(method.graph.walk())
        report.append({"method": f"{path}.{method.name}" if path else method.name,
                       "changed": bool(changed), "nodes_before": before, "nodes_after": after})
    save(obj, args.output)
    doc = {"model": args.model, "output": args.output, "pipeline": args.level,
           "passes": names, "methods": report}
    if args.json:
        emit_json(doc)
        return 0
    print(f"pipeline {args.level}: {', '.join(names) or '(no passes)'}")
    for r in report:
        print(f"  {r['method']}: {r['nodes_before']} -> {r['nodes_after']} nodes")
    print(f"wrote {args.output}")
    return 0


def _import_passes() -> None:
    """Passes register themselves on import; import every module of graphtorch.passes."""

    for info in pkgutil.iter_modules(passes.__path__):
        importlib.import_module(f"graphtorch.passes.{info.name}")


def _methods(obj):
    """(module path, owning module or None, method-like with .graph and .name)."""
    if not isinstance(obj, ScriptModule):
        yield "", None, obj
        return
    for path, mod in obj.named_modules():
        if isinstance(mod, ScriptModule):
            for method in mod._gt_methods.values():
                yield path, mod, method
