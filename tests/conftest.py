import numpy as np
import pytest

try:
    import torch as _torch  # noqa: F401

    HAVE_TORCH = True
except ImportError:  # pragma: no cover - depends on the environment
    HAVE_TORCH = False


def pytest_collection_modifyitems(config, items):
    from graphtorch.device import cuda_is_available

    skip_gpu = pytest.mark.skip(reason="needs an NVIDIA GPU with CuPy")
    skip_torch = pytest.mark.skip(reason="PyTorch is not installed (pip install torch==2.13.0)")
    gpu = cuda_is_available()
    for item in items:
        if "gpu" in item.keywords and not gpu:
            item.add_marker(skip_gpu)
        if "torch" in item.keywords and not HAVE_TORCH:
            item.add_marker(skip_torch)


@pytest.fixture
def rng():
    return np.random.default_rng(0)
