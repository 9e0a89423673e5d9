"""``InstanceNorm1d/2d/3d`` and ``F.instance_norm``: each sample's channels normalized over
their own spatial positions (``group_norm`` with one group per channel), with PyTorch's optional
running statistics (the per-instance statistics averaged over the batch)."""

from __future__ import annotations

import graphtorch as gt
from graphtorch.autograd.grad_mode import no_grad
from graphtorch.nn import functional as F
from graphtorch.nn._norm_state import register_affine, register_running_stats
from graphtorch.nn.module import Module
from graphtorch.tensor import Tensor


def instance_norm(input: Tensor, running_mean: Tensor | None = None,
                  running_var: Tensor | None = None, weight: Tensor | None = None,
                  bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalize (N, C, *spatial) per sample and channel (``torch.nn.functional``'s)."""
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise ValueError("Expected running_mean and running_var to be defined when "
                             "use_input_stats is false")
        return F.batch_norm(input, running_mean, running_var, weight, bias, False, momentum,
                            eps)
    n, c = input.shape[0], input.shape[1]
    spatial = input.numel() // max(n * c, 1)
    if spatial <= 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size "
                         f"{input.shape}")
    if running_mean is not None and running_var is not None:
        with no_grad():
            flat = input.detach().reshape([n, c, -1])
            mean = flat.mean([2])
            var = flat.var([2], correction=1)
            running_mean.mul_(1 - momentum).add_(mean.mean([0]) * momentum)
            running_var.mul_(1 - momentum).add_(var.mean([0]) * momentum)
    return F.group_norm(input, c, weight, bias, eps)


class _InstanceNorm(Module):
    _ranks: tuple[int, int] = (2, 3)

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = False, track_running_stats: bool = False, device=None,
                 dtype=None):
        super().__init__()
        opts = {"device": device, "dtype": dtype or gt.get_default_dtype()}
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        register_affine(self, affine, True, num_features, **opts)
        register_running_stats(self, track_running_stats, num_features, **opts)

    def forward(self, input: Tensor) -> Tensor:
        unbatched_rank, batched_rank = self._ranks
        if input.dim() not in self._ranks:
            raise ValueError(f"expected {unbatched_rank}D or {batched_rank}D input (got "
                             f"{input.dim()}D input)")
        channel_dim = 0 if input.dim() == unbatched_rank else 1
        if input.shape[channel_dim] != self.num_features and self.affine:
            raise ValueError(f"expected input's size at dim={channel_dim} to match "
                             f"num_features ({self.num_features}), but got: "
                             f"{input.shape[channel_dim]}.")
        x = input.unsqueeze(0) if input.dim() == unbatched_rank else input
        out = instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            self.training or not self.track_running_stats, self.momentum,
                            self.eps)
        return out.squeeze(0) if input.dim() == unbatched_rank else out

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class InstanceNorm1d(_InstanceNorm):
    """Over (N, C, L) or unbatched (C, L) inputs."""

    _ranks = (2, 3)


class InstanceNorm2d(_InstanceNorm):
    """Over (N, C, H, W) or unbatched (C, H, W) inputs."""

    _ranks = (3, 4)


class InstanceNorm3d(_InstanceNorm):
    """Over (N, C, D, H, W) or unbatched (C, D, H, W) inputs."""

    _ranks = (4, 5)
