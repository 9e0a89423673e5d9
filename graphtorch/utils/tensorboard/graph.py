"""A TensorBoard GraphDef from a graphtorch IR drawing (``SummaryWriter.add_graph``).

The model is saved to an in-memory archive and drawn as ``graphtorch viz`` draws it
(graphtorch/viz/model.py); every drawn node becomes a NodeDef whose name is scoped by its
clusters (``l1/linear``, ``if/then/mul``), so TensorBoard groups module calls and blocks into
expandable boxes. Each NodeDef carries its IR line, source location and output shape.
"""

from __future__ import annotations

import io
import re

from tensorboard.compat.proto.attr_value_pb2 import AttrValue
from tensorboard.compat.proto.graph_pb2 import GraphDef
from tensorboard.compat.proto.node_def_pb2 import NodeDef
from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto
from tensorboard.compat.proto.versions_pb2 import VersionDef

from graphtorch.archive import save
from graphtorch.archive.reader import read_archive
from graphtorch.errors import GraphtorchError
from graphtorch.frontend.script_module import ScriptFunction, ScriptModule
from graphtorch.jit import trace
from graphtorch.viz.model import build_viz

_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]")


def _scope(g, cluster: str) -> list[str]:
    names = []
    for cid in reversed(g.ancestors(cluster)):
        label = g.clusters[cid].label.split(":", 1)[0]
        names.append(_UNSAFE.sub("_", label.split(".")[-1]) or "_")
    return names


def graph_def(model, input_to_model=None) -> GraphDef:
    """The GraphDef of a ScriptModule / ScriptFunction, or of an eager module traced with
    ``input_to_model`` (a tensor or a tuple of tensors)."""
    if not isinstance(model, (ScriptModule, ScriptFunction)):
        if input_to_model is None:
            raise GraphtorchError("add_graph: an eager module needs input_to_model to be "
                                  "traced (or pass a scripted or traced module)")
        model = trace(model, input_to_model)
    buf = io.BytesIO()
    save(model, buf)
    buf.seek(0)
    g = build_viz(read_archive(buf), constants=True)
    names: dict[str, str] = {}
    used: set[str] = set()
    for n in g.nodes:
        base = "/".join(_scope(g, n.cluster) + [_UNSAFE.sub("_", n.label)[:40] or "node"])
        name, k = base, 1
        while name in used:
            name, k = f"{base}_{k}", k + 1
        used.add(name)
        names[n.id] = name
    inputs: dict[str, list[str]] = {n.id: [] for n in g.nodes}
    shapes: dict[str, object] = {}
    for e in g.edges:
        inputs[e.dst].append(("^" if e.control else "") + names[e.src])
        shapes.setdefault(e.src, e.label)
    gd = GraphDef(versions=VersionDef(producer=22))
    for n in g.nodes:
        attrs = {"ir": AttrValue(s=n.text.encode()), "source": AttrValue(s=n.source.encode())}
        label = shapes.get(n.id)
        if isinstance(label, str) and "[" in label:
            dims = [TensorShapeProto.Dim(size=int(d) if d.strip().isdigit() else -1)
                    for d in label[label.index("[") + 1:-1].split(",") if d.strip()]
            attrs["_output_shapes"] = AttrValue(list=AttrValue.ListValue(
                shape=[TensorShapeProto(dim=dims)]))
            attrs["dtype"] = AttrValue(s=label.split("[", 1)[0].encode())
        op = n.text.split(" = ", 1)[-1].split("(", 1)[0].split("[", 1)[0] if n.text else n.role
        gd.node.append(NodeDef(name=names[n.id], op=op or n.role, input=inputs[n.id],
                               device="cpu", attr=attrs))
    return gd
