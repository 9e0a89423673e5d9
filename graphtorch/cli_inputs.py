"""Old path of graphtorch/cli/inputs.py.

NOTE: kept only because graphtorch/viz/onnx_out.py (being edited elsewhere) still imports it;
delete once it imports graphtorch.cli.inputs.
"""

from graphtorch.cli.inputs import resolve_inputs

__all__ = ["resolve_inputs"]
