"""The operator registry and every op definition (importing this package registers them all)."""

from graphtorch.ops import (  # noqa: F401 - imported for their registrations
    compat_ops,
    complex_ops,
    conv,
    creation,
    distance,
    elementwise,
    indexing,
    linalg,
    linalg_decomp,
    linalg_lu,
    linalg_norms,
    linalg_spectral,
    lp_pooling,
    nn_ops,
    pooling,
    quantiles,
    random,
    reductions,
    scans,
    scatter_reduce,
    searching,
    shape_ops,
    sorting,
    stft,
    views,
)
from graphtorch.ops.registry import REGISTRY, OpDef, OpKind, Promotion, SampleInput, Saves, get

__all__ = ["REGISTRY", "OpDef", "OpKind", "Promotion", "SampleInput", "Saves", "get"]
