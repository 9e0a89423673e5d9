"""``graphtorch viz MODEL --format onnx -o m.onnx [--netron]``: the model as an ONNX file
(graphtorch.onnx.export on inputs from ``--shape`` or the declared types), optionally opened in
Netron when the ``netron`` package is installed."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import graphtorch
from graphtorch.archive.reader import entry_method, read_archive
from graphtorch.cli.errors import CLIError, emit_json
from graphtorch.cli.inputs import resolve_inputs
from graphtorch.errors import GraphtorchError


def write_onnx(args) -> int:
    """Export the archive ``args.model`` to ONNX at ``args.output``; 0 on success."""
    out = Path(args.output)
    if args.method != "forward":
        raise CLIError("--format onnx exports forward only")
    netron = None
    if args.netron:
        try:
            import netron  # noqa: F811 - optional: only --netron needs it
        except ImportError:
            raise CLIError("--netron needs the netron package (pip install netron)") from None
    loaded = read_archive(args.model)
    graph, arg_names, first = entry_method(loaded, args.method)
    arrays = resolve_inputs(graph, arg_names, first,
                            SimpleNamespace(inputs=None, input=None, shape=args.shape,
                                            seed=0))
    model = graphtorch.jit.load(args.model)
    inputs = tuple(graphtorch.tensor(arrays[n]) for n in arg_names)
    try:
        graphtorch.onnx.export(model, inputs, str(out), input_names=list(arg_names))
    except GraphtorchError as e:
        raise CLIError(f"cannot export {args.model} to ONNX: {e}") from None
    doc = {"model": args.model, "output": str(out), "format": "onnx",
           "inputs": {n: list(arrays[n].shape) for n in arg_names}}
    if args.json:
        emit_json(doc)
    else:
        print(f"wrote {out} (ONNX, inputs {doc['inputs']})")
    if netron is not None:
        address = netron.start(str(out), browse=True)
        print(f"graphtorch viz: Netron serves {out} at {address} (Ctrl-C stops it)",
              file=sys.stderr)
        netron.wait()
    return 0
