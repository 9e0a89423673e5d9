"""BatchNorm1d/2d/3d: batch statistics in training, running statistics in eval."""

from __future__ import annotations

from graphtorch.autograd.grad_mode import no_grad
from graphtorch.nn import functional as F
from graphtorch.nn import init
from graphtorch.nn._norm_state import register_affine, register_running_stats, reset_affine
from graphtorch.nn.module import Module
from graphtorch.tensor import Tensor


class _BatchNorm(Module):
    _expected_dims: tuple[int, ...] = ()
    _version = 2  # NOTE: PyTorch's: version 2 added num_batches_tracked

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device=None,
                 dtype=None, *, bias: bool = True):
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        register_affine(self, affine, bias, num_features, device, dtype)
        register_running_stats(self, track_running_stats, num_features, device, dtype)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        reset_affine(self)

    def _check_input_dim(self, input: Tensor) -> None:
        if input.dim() not in self._expected_dims:
            dims = " or ".join(f"{d}D" for d in self._expected_dims)
            raise ValueError(f"expected {dims} input (got {input.dim()}D input)")

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            with no_grad():
                self.num_batches_tracked.add_(1)
            if self.momentum is None:
                # NOTE: momentum=None is a cumulative moving average over all batches seen
                factor = 1.0 / float(self.num_batches_tracked.item())
        use_batch_stats = self.training or (self.running_mean is None
                                            and self.running_var is None)
        track = not self.training or self.track_running_stats
        return F.batch_norm(input, self.running_mean if track else None,
                            self.running_var if track else None, self.weight, self.bias,
                            use_batch_stats, factor, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")

    def _load_from_state_dict(self, state_dict, prefix, strict, missing, unexpected, errors,
                              assign=False) -> None:
        key = prefix + "num_batches_tracked"
        version = getattr(state_dict, "_metadata", {}).get(prefix[:-1], {}).get("version")
        if (self.num_batches_tracked is not None and key not in state_dict
                and (version is None or version < 2)):
            # NOTE: checkpoints from before num_batches_tracked existed (version < 2, or no
            # version at all) still load and keep the current count, as in PyTorch
            state_dict = dict(state_dict)
            state_dict[key] = self.num_batches_tracked
        super()._load_from_state_dict(state_dict, prefix, strict, missing, unexpected, errors,
                                      assign)


class BatchNorm1d(_BatchNorm):
    """Over (N, C) or (N, C, L) inputs."""

    _expected_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Over (N, C, H, W) inputs."""

    _expected_dims = (4,)


class BatchNorm3d(_BatchNorm):
    """Over (N, C, D, H, W) inputs."""

    _expected_dims = (5,)
