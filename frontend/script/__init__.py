"""The script compiler: Python source to typed IR.

Entry points (called by ``graphtorch.jit``): :func:`script_function`, :func:`script_module`,
:func:`compile_forgiving`, :func:`explain`, and the ``ignore``/``unused`` markers.
"""

from graphtorch.frontend.script import scalar_ops as _scalar_ops  # noqa: F401 - adds prim kinds
from graphtorch.frontend.script.api import ignore, script, script_function, script_module, unused
from graphtorch.frontend.script.fallback import CompileReport, compile_forgiving, explain

# NOTE: graphtorch.jit._script is this package: TorchScript's tests read _get_overloads there
from graphtorch.frontend.script.overloads import compiled_overloads as _get_overloads  # noqa: F401

__all__ = ["script", "script_function", "script_module", "ignore", "unused", "compile_forgiving",
           "explain", "CompileReport"]
