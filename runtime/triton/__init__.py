"""Triton backend: FusionGroup subgraphs -> generated Triton kernels (GPU, or the CPU interpreter).

``run_fusion_group(node_or_subgraph, inputs)`` is the entry point; see docs/triton.md.
"""

from .launch import CompiledKernel, compile_kernel, run_fusion_group

__all__ = ["CompiledKernel", "compile_kernel", "run_fusion_group"]
