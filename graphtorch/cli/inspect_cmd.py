"""``graphtorch inspect MODEL``: what an archive holds, without running it."""

from __future__ import annotations

from collections import Counter

from graphtorch.archive import manifest as mf
from graphtorch.archive.reader import build, entry_method, read_archive
from graphtorch.archive.writer import default_text
from graphtorch.cli.errors import emit_json


def add_parser(sub):
    p = sub.add_parser("inspect", help="format and producer versions, inputs/outputs, module "
                                       "tree, parameters, op histogram")
    p.add_argument("model", help="a .gt archive")
    p.add_argument("--method", default="forward", help="method to describe (default: forward)")
    p.add_argument("--graph", action="store_true", help="print the method's IR graph")
    p.add_argument("--code", action="store_true", help="print the method's code")
    p.set_defaults(handler=run)
    return p


def signature(graph, arg_names: list[str], first: int) -> tuple[list[dict], list[dict]]:
    """Inputs (name, type) and outputs (name, type) of a method graph."""
    params = graph.inputs[first:]
    defaults = getattr(graph, "defaults", None) or {}
    inputs = [{"name": n, "type": str(v.type)} for n, v in zip(arg_names, params)]
    for row in inputs:
        if row["name"] in defaults:
            row["default"] = default_text(defaults[row["name"]])
    outputs = [{"name": "output" if len(graph.outputs) == 1 else f"output{i}",
                "type": str(v.type)} for i, v in enumerate(graph.outputs)]
    return inputs, outputs


def describe(loaded, method: str = "forward") -> dict:
    m = loaded.manifest
    store = loaded.tensors
    graph, arg_names, first = entry_method(loaded, method)
    inputs, outputs = signature(graph, arg_names, first)
    kinds: Counter = Counter()
    for g in loaded.graphs.values():
        for node in g.walk():
            kinds[node.kind] += 1
    doc = {"file": loaded.archive.source, "format_version": m.format_version,
           "producer": f"{m.producer} {m.producer_version}",
           "entry": m.root.class_name if m.root is not None else m.entry_function,
           "method": method, "inputs": inputs, "outputs": outputs,
           "modules": _module_rows(m.root, store) if m.root is not None else [],
           "functions": [f.name for f in m.functions],
           "op_histogram": dict(sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])))}
    keys = _unique_keys(m.root) if m.root is not None else {"parameters": (), "buffers": ()}
    doc["parameters"] = sum(_numel(store.entries[k].shape) for k in keys["parameters"])
    doc["parameter_bytes"] = sum(_nbytes(store.entries[k]) for k in keys["parameters"])
    doc["buffer_bytes"] = sum(_nbytes(store.entries[k]) for k in keys["buffers"])
    doc["tensor_bytes"] = store.total_bytes
    return doc


def _numel(shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _nbytes(e) -> int:
    return e.end - e.begin


def _unique_keys(root: mf.ModuleEntry) -> dict[str, set[str]]:
    keys: dict[str, set[str]] = {"parameters": set(), "buffers": set()}
    for _, entry in root.walk():
        keys["parameters"].update(p.key for p in entry.parameters)
        keys["buffers"].update(b.key for b in entry.buffers)
    return keys


def _module_rows(root: mf.ModuleEntry, store) -> list[dict]:
    rows = []
    for path, entry in root.walk():
        own = {p.key for p in entry.parameters}
        sub = _unique_keys(entry)["parameters"]
        rows.append({"path": path or "<root>", "class": entry.class_name,
                     "depth": 0 if not path else path.count(".") + 1,
                     "methods": [x.name for x in entry.methods],
                     "parameters": sum(_numel(store.entries[k].shape) for k in own),
                     "total_parameters": sum(_numel(store.entries[k].shape) for k in sub),
                     "total_bytes": sum(_nbytes(store.entries[k]) for k in sub)})
    return rows


def human_bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover


def run(args) -> int:
    loaded = read_archive(args.model)
    doc = describe(loaded, args.method)
    graph, _, _ = entry_method(loaded, args.method)
    if args.graph:
        doc["graph"] = str(graph)
    if args.code:
        obj = build(loaded)
        target = obj if loaded.manifest.root is None else obj._method(args.method)
        doc["code"] = target.code
    if args.json:
        emit_json(doc)
        return 0
    print(f"{doc['file']}: graphtorch archive, format {doc['format_version']}, written by "
          f"{doc['producer']}")
    print(f"entry: {doc['entry']}" + (f".{args.method}" if loaded.manifest.root else ""))
    print("inputs:")
    for x in doc["inputs"]:
        default = f" = {x['default']}" if "default" in x else ""
        print(f"  {x['name']} : {x['type']}{default}")
    print("outputs:")
    for x in doc["outputs"]:
        print(f"  {x['name']} : {x['type']}")
    print(f"parameters: {doc['parameters']:,} ({human_bytes(doc['parameter_bytes'])}); "
          f"buffers: {human_bytes(doc['buffer_bytes'])}")
    if doc["modules"]:
        print("modules:")
        for r in doc["modules"]:
            name = r["path"].rsplit(".", 1)[-1] if r["depth"] else r["path"]
            print(f"  {'  ' * r['depth']}{name} ({r['class']}): {r['total_parameters']:,} "
                  f"params, {human_bytes(r['total_bytes'])}")
    if doc["functions"]:
        print("functions: " + ", ".join(doc["functions"]))
    print("ops:")
    for kind, n in doc["op_histogram"].items():
        print(f"  {n:6d}  {kind}")
    if args.graph:
        print(f"graph ({args.method}):")
        print(doc["graph"].rstrip())
    if args.code:
        print(f"code ({args.method}):")
        print(doc["code"].rstrip())
    return 0
