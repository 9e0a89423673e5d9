"""Summary protos for scalars, histograms and text, as TensorBoard's plugins expect them."""

from __future__ import annotations

import numpy as np
from tensorboard.compat.proto.summary_pb2 import HistogramProto, Summary, SummaryMetadata
from tensorboard.compat.proto.tensor_pb2 import TensorProto
from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto

from graphtorch.errors import GraphtorchError


def to_numpy(x) -> np.ndarray:
    """A graphtorch tensor, numpy array, Python number or list as a float64-safe array."""
    if hasattr(x, "detach"):
        x = x.detach()
    if hasattr(x, "numpy"):
        x = x.numpy()
    return np.asarray(x)


def scalar(tag: str, value, double_precision: bool = False) -> Summary:
    arr = to_numpy(value)
    if arr.size != 1:
        raise GraphtorchError(f"add_scalar({tag!r}): expected a single value, got an array "
                              f"of shape {list(arr.shape)}")
    v = float(arr.reshape(()))
    if double_precision:
        tensor = TensorProto(dtype="DT_DOUBLE", double_val=[v], tensor_shape=TensorShapeProto())
        meta = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="scalars"))
        return Summary(value=[Summary.Value(tag=tag, tensor=tensor, metadata=meta)])
    return Summary(value=[Summary.Value(tag=tag, simple_value=v)])


def _tensorflow_limits() -> np.ndarray:
    """TensorFlow's default histogram edges: 0 and +-1e-12 growing by 10% up to 1e20."""
    pos = []
    v = 1e-12
    while v < 1e20:
        pos.append(v)
        v *= 1.1
    pos = np.array(pos)
    return np.concatenate([-pos[::-1], [0.0], pos])


def histogram(tag: str, values, bins="tensorflow", max_bins: int | None = None) -> Summary:
    """numpy.histogram of the values, then (as PyTorch does) at most ``max_bins`` buckets by
    summing neighbours, and empty buckets trimmed except one before the first full one."""
    arr = to_numpy(values).astype(np.float64).reshape(-1)
    if arr.size == 0:
        raise GraphtorchError(f"add_histogram({tag!r}): the values are empty")
    if isinstance(bins, str) and bins == "tensorflow":
        bins = _tensorflow_limits()
    counts, edges = np.histogram(arr, bins=bins)
    if max_bins is not None and len(counts) > max_bins:
        k = len(counts) // max_bins
        counts = np.pad(counts, (0, (-len(counts)) % k)).reshape(-1, k).sum(axis=1)
        edges = np.concatenate([edges[:-1:k], edges[-1:]])
    full = np.nonzero(counts)[0]
    if full.size == 0:
        raise GraphtorchError(f"add_histogram({tag!r}): no value falls inside the bins")
    first, last = int(full[0]), int(full[-1])
    if first > 0:
        counts, limits = counts[first - 1:last + 1], edges[first:last + 2]
    else:
        counts, limits = np.concatenate([[0], counts[:last + 1]]), edges[:last + 2]
    hist = HistogramProto(min=float(arr.min()), max=float(arr.max()), num=float(arr.size),
                          sum=float(arr.sum()), sum_squares=float(np.dot(arr, arr)),
                          bucket_limit=limits.tolist(), bucket=counts.astype(float).tolist())
    return Summary(value=[Summary.Value(tag=tag, histo=hist)])


def text(tag: str, text_string: str) -> Summary:
    meta = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="text"))
    tensor = TensorProto(dtype="DT_STRING", string_val=[text_string.encode("utf-8")],
                         tensor_shape=TensorShapeProto(dim=[TensorShapeProto.Dim(size=1)]))
    return Summary(value=[Summary.Value(tag=tag + "/text_summary", metadata=meta,
                                        tensor=tensor)])
