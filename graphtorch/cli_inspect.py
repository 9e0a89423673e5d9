"""Old path of graphtorch/cli/inspect_cmd.py.

NOTE: kept only because graphtorch/viz/model.py and viz/onnx_out.py (being edited elsewhere) still
import it; delete once they import graphtorch.cli.inspect_cmd.
"""

from graphtorch.cli.inspect_cmd import entry_method

__all__ = ["entry_method"]
