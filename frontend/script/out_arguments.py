"""``out=`` arguments in script: ``graphtorch.add(a, b, out=t)``.

The op runs out of place, then a ``prim::PythonOp`` writes its result into ``t`` exactly as eager
``out=`` does (graphtorch.functions.write_out: resized when the shape differs, cast to ``t``'s
dtype when allowed, refused when an argument requires grad), and gives ``t`` back. The write is
a call the compiler cannot see into that is handed ``t``: every pass treats it as a write into
that tensor (and into every alias of it), as it treats ``prim::Inplace``: CSE merges no tensor
reads around it, DCE keeps it, constant folding and canonicalization leave the tensors it may
write alone, fusion groups close before it, and the autodiff pass declines the graph.
"""

from __future__ import annotations

from graphtorch.functions import write_out


def script_write_out(name, result, out, *inputs):
    """Eager ``out=``: ``result`` written into ``out`` (which is returned)."""
    return write_out(name, result, out, inputs)
