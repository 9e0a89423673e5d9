"""Every nn.Module class graphtorch.nn exports, with a default construction and example inputs.

``LAYERS[name] = (build, inputs)``: ``build(torch)`` constructs the layer with the framework it is
given (graphtorch or torch) and ``inputs(rng)`` returns numpy arrays (float32 unless the
layer takes indices), one per forward argument. A class graphtorch.nn exports that is missing
here fails tests/nn/test_script_every_layer.py: a new layer must be added.
"""

from __future__ import annotations

import numpy as np


def f32(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def prob(rng, *shape):
    return rng.uniform(0.05, 0.95, shape).astype(np.float32)


def idx(rng, high, *shape):
    return rng.integers(0, high, shape).astype(np.int64)


def sign(rng, *shape):
    return np.where(rng.standard_normal(shape) > 0, 1.0, -1.0).astype(np.float32)


def _x(*shape):
    return lambda rng: (f32(rng, *shape),)


def _loss(shape, target):
    return lambda rng: (f32(rng, *shape), target(rng))


def _holder_list(t):
    nn = t.nn

    class ListHolder(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 3)])

        def forward(self, x):
            for m in self.layers:
                x = m(x)
            return x

    return ListHolder()


def _holder_dict(t):
    nn = t.nn

    class DictHolder(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleDict({"a": nn.Linear(4, 4), "b": nn.Tanh()})

        def forward(self, x):
            for _name, m in self.layers.items():
                x = m(x)
            return x

    return DictHolder()


def _holder_params(t, kind):
    nn = t.nn

    class ParamListHolder(nn.Module):
        def __init__(self):
            super().__init__()
            w = t.ones(4) * 0.5
            self.params = nn.ParameterList([nn.Parameter(w), nn.Parameter(w + 1.0)])

        def forward(self, x):
            for p in self.params:
                x = x * p + 1.0
            return x

    class ParamDictHolder(nn.Module):
        def __init__(self):
            super().__init__()
            w = t.ones(4) * 0.5
            self.params = nn.ParameterDict({"a": nn.Parameter(w), "b": nn.Parameter(w - 2.0)})

        def forward(self, x):
            for _k, p in self.params.items():
                x = x * p + 1.0
            return x

    return ParamListHolder() if kind == "list" else ParamDictHolder()


def _plain_module(t):
    nn = t.nn

    class Plain(nn.Module):
        def forward(self, x):
            return x * 2.0 + 1.0

    return Plain()


def _two(a, b):
    return lambda rng: (a(rng), b(rng))


LAYERS: dict = {
    # pooling
    "AdaptiveAvgPool1d": (lambda t: t.nn.AdaptiveAvgPool1d(3), _x(2, 3, 8)),
    "AdaptiveAvgPool2d": (lambda t: t.nn.AdaptiveAvgPool2d((3, 2)), _x(2, 3, 8, 6)),
    "AdaptiveAvgPool3d": (lambda t: t.nn.AdaptiveAvgPool3d(2), _x(1, 2, 4, 6, 4)),
    "AdaptiveMaxPool1d": (lambda t: t.nn.AdaptiveMaxPool1d(3), _x(2, 3, 8)),
    "AdaptiveMaxPool2d": (lambda t: t.nn.AdaptiveMaxPool2d((3, 2)), _x(2, 3, 8, 6)),
    "AdaptiveMaxPool3d": (lambda t: t.nn.AdaptiveMaxPool3d(2), _x(1, 2, 4, 6, 4)),
    "AvgPool1d": (lambda t: t.nn.AvgPool1d(2), _x(2, 3, 8)),
    "LPPool1d": (lambda t: t.nn.LPPool1d(2, 3), _x(2, 3, 8)),
    "LPPool2d": (lambda t: t.nn.LPPool2d(3, (3, 2), stride=2), _x(2, 3, 8, 8)),
    "AvgPool2d": (lambda t: t.nn.AvgPool2d(2), _x(2, 3, 8, 6)),
    "AvgPool3d": (lambda t: t.nn.AvgPool3d(2), _x(1, 2, 4, 6, 4)),
    "MaxPool1d": (lambda t: t.nn.MaxPool1d(2), _x(2, 3, 8)),
    "MaxPool2d": (lambda t: t.nn.MaxPool2d(2), _x(2, 3, 8, 6)),
    "MaxPool3d": (lambda t: t.nn.MaxPool3d(2), _x(1, 2, 4, 6, 4)),
    "MaxUnpool1d": (lambda t: t.nn.MaxUnpool1d(2),
                    lambda rng: (f32(rng, 1, 2, 4), np.array([[[0, 3, 5, 6], [1, 2, 4, 7]]]))),
    "MaxUnpool2d": (lambda t: t.nn.MaxUnpool2d(2),
                    lambda rng: (f32(rng, 1, 1, 2, 2), np.array([[[[0, 3], [9, 14]]]]))),
    "MaxUnpool3d": (lambda t: t.nn.MaxUnpool3d(2),
                    lambda rng: (f32(rng, 1, 1, 1, 1, 2), np.array([[[[[0, 3]]]]]))),
    # losses
    "BCELoss": (lambda t: t.nn.BCELoss(), lambda rng: (prob(rng, 4, 3), prob(rng, 4, 3))),
    "BCEWithLogitsLoss": (lambda t: t.nn.BCEWithLogitsLoss(),
                          lambda rng: (f32(rng, 4, 3), prob(rng, 4, 3))),
    "CosineEmbeddingLoss": (lambda t: t.nn.CosineEmbeddingLoss(),
                            lambda rng: (f32(rng, 4, 5), f32(rng, 4, 5), sign(rng, 4))),
    "CrossEntropyLoss": (lambda t: t.nn.CrossEntropyLoss(),
                         _loss((4, 5), lambda rng: idx(rng, 5, 4))),
    "GaussianNLLLoss": (lambda t: t.nn.GaussianNLLLoss(),
                        lambda rng: (f32(rng, 4, 3), f32(rng, 4, 3), prob(rng, 4, 3))),
    "HingeEmbeddingLoss": (lambda t: t.nn.HingeEmbeddingLoss(),
                           lambda rng: (f32(rng, 4, 3), sign(rng, 4, 3))),
    "HuberLoss": (lambda t: t.nn.HuberLoss(), _loss((4, 3), lambda rng: f32(rng, 4, 3))),
    "KLDivLoss": (lambda t: t.nn.KLDivLoss(reduction="batchmean"),
                  lambda rng: (np.log(prob(rng, 4, 3)), prob(rng, 4, 3))),
    "L1Loss": (lambda t: t.nn.L1Loss(), _loss((4, 3), lambda rng: f32(rng, 4, 3))),
    "MSELoss": (lambda t: t.nn.MSELoss(), _loss((4, 3), lambda rng: f32(rng, 4, 3))),
    "MarginRankingLoss": (lambda t: t.nn.MarginRankingLoss(margin=0.1),
                          lambda rng: (f32(rng, 6), f32(rng, 6), sign(rng, 6))),
    "MultiLabelSoftMarginLoss": (lambda t: t.nn.MultiLabelSoftMarginLoss(),
                                 lambda rng: (f32(rng, 4, 3),
                                              (prob(rng, 4, 3) > 0.5).astype(np.float32))),
    "NLLLoss": (lambda t: t.nn.NLLLoss(),
                lambda rng: (np.log(prob(rng, 4, 5)), idx(rng, 5, 4))),
    "PoissonNLLLoss": (lambda t: t.nn.PoissonNLLLoss(),
                       lambda rng: (f32(rng, 4, 3), prob(rng, 4, 3) * 3)),
    "SmoothL1Loss": (lambda t: t.nn.SmoothL1Loss(), _loss((4, 3), lambda rng: f32(rng, 4, 3))),
    "SoftMarginLoss": (lambda t: t.nn.SoftMarginLoss(), lambda rng: (f32(rng, 4, 3),
                                                                    sign(rng, 4, 3))),
    "TripletMarginLoss": (lambda t: t.nn.TripletMarginLoss(),
                          lambda rng: (f32(rng, 4, 5), f32(rng, 4, 5), f32(rng, 4, 5))),
    # normalization
    "BatchNorm1d": (lambda t: t.nn.BatchNorm1d(3), _x(4, 3, 5)),
    "BatchNorm2d": (lambda t: t.nn.BatchNorm2d(3), _x(2, 3, 4, 5)),
    "BatchNorm3d": (lambda t: t.nn.BatchNorm3d(2), _x(2, 2, 3, 4, 3)),
    "GroupNorm": (lambda t: t.nn.GroupNorm(2, 4), _x(2, 4, 3, 3)),
    "InstanceNorm1d": (lambda t: t.nn.InstanceNorm1d(3), _x(2, 3, 6)),
    "InstanceNorm2d": (lambda t: t.nn.InstanceNorm2d(3, affine=True), _x(2, 3, 4, 5)),
    "InstanceNorm3d": (lambda t: t.nn.InstanceNorm3d(2), _x(1, 2, 3, 4, 3)),
    "LayerNorm": (lambda t: t.nn.LayerNorm(5), _x(2, 3, 5)),
    # linear / conv / embedding
    "Bilinear": (lambda t: t.nn.Bilinear(3, 4, 5), lambda rng: (f32(rng, 2, 3), f32(rng, 2, 4))),
    "Identity": (lambda t: t.nn.Identity(), _x(2, 3)),
    "Linear": (lambda t: t.nn.Linear(4, 3), _x(2, 4)),
    "Conv1d": (lambda t: t.nn.Conv1d(2, 3, 3), _x(2, 2, 8)),
    "Conv2d": (lambda t: t.nn.Conv2d(2, 3, 3, padding=1), _x(2, 2, 5, 5)),
    "Conv3d": (lambda t: t.nn.Conv3d(2, 3, 2), _x(1, 2, 4, 4, 3)),
    "ConvTranspose1d": (lambda t: t.nn.ConvTranspose1d(2, 3, 3, stride=2), _x(2, 2, 5)),
    "ConvTranspose2d": (lambda t: t.nn.ConvTranspose2d(2, 3, 3, stride=2), _x(1, 2, 4, 4)),
    "ConvTranspose3d": (lambda t: t.nn.ConvTranspose3d(2, 3, 2), _x(1, 2, 3, 3, 2)),
    "Embedding": (lambda t: t.nn.Embedding(10, 4), lambda rng: (idx(rng, 10, 2, 5),)),
    "EmbeddingBag": (lambda t: t.nn.EmbeddingBag(10, 4, mode="mean"),
                     lambda rng: (idx(rng, 10, 3, 4),)),
    "Flatten": (lambda t: t.nn.Flatten(), _x(2, 3, 4)),
    "Unflatten": (lambda t: t.nn.Unflatten(1, (2, 3)), _x(4, 6)),
    "PixelShuffle": (lambda t: t.nn.PixelShuffle(2), _x(1, 8, 3, 3)),
    "PixelUnshuffle": (lambda t: t.nn.PixelUnshuffle(2), _x(1, 2, 4, 4)),
    "Upsample": (lambda t: t.nn.Upsample(scale_factor=2, mode="nearest"), _x(1, 2, 3, 3)),
    "UpsamplingBilinear2d": (lambda t: t.nn.UpsamplingBilinear2d(scale_factor=2),
                             _x(1, 2, 3, 3)),
    "UpsamplingNearest2d": (lambda t: t.nn.UpsamplingNearest2d(scale_factor=2), _x(1, 2, 3, 3)),
    # dropout (compared in eval mode, where it is the identity)
    "Dropout": (lambda t: t.nn.Dropout(), _x(4, 5)),
    "Dropout1d": (lambda t: t.nn.Dropout1d(), _x(2, 3, 5)),
    "Dropout2d": (lambda t: t.nn.Dropout2d(), _x(2, 3, 4, 4)),
    "Dropout3d": (lambda t: t.nn.Dropout3d(), _x(2, 3, 2, 2, 2)),
    # activations
    "CELU": (lambda t: t.nn.CELU(), _x(3, 4)),
    "ELU": (lambda t: t.nn.ELU(), _x(3, 4)),
    "GELU": (lambda t: t.nn.GELU(), _x(3, 4)),
    "GLU": (lambda t: t.nn.GLU(), _x(3, 4)),
    "Hardsigmoid": (lambda t: t.nn.Hardsigmoid(), _x(3, 4)),
    "Hardswish": (lambda t: t.nn.Hardswish(), _x(3, 4)),
    "Hardtanh": (lambda t: t.nn.Hardtanh(), _x(3, 4)),
    "LeakyReLU": (lambda t: t.nn.LeakyReLU(0.1), _x(3, 4)),
    "LogSigmoid": (lambda t: t.nn.LogSigmoid(), _x(3, 4)),
    "LogSoftmax": (lambda t: t.nn.LogSoftmax(dim=1), _x(3, 4)),
    "Mish": (lambda t: t.nn.Mish(), _x(3, 4)),
    "PReLU": (lambda t: t.nn.PReLU(), _x(3, 4)),
    "ReLU": (lambda t: t.nn.ReLU(), _x(3, 4)),
    "ReLU6": (lambda t: t.nn.ReLU6(), _x(3, 4)),
    "SELU": (lambda t: t.nn.SELU(), _x(3, 4)),
    "SiLU": (lambda t: t.nn.SiLU(), _x(3, 4)),
    "Sigmoid": (lambda t: t.nn.Sigmoid(), _x(3, 4)),
    "Softmax": (lambda t: t.nn.Softmax(dim=-1), _x(3, 4)),
    "Softmax2d": (lambda t: t.nn.Softmax2d(), _x(2, 3, 4, 4)),
    "Softmin": (lambda t: t.nn.Softmin(dim=1), _x(3, 4)),
    "Softplus": (lambda t: t.nn.Softplus(), _x(3, 4)),
    "Softsign": (lambda t: t.nn.Softsign(), _x(3, 4)),
    "Tanh": (lambda t: t.nn.Tanh(), _x(3, 4)),
    "Tanhshrink": (lambda t: t.nn.Tanhshrink(), _x(3, 4)),
    "Threshold": (lambda t: t.nn.Threshold(0.1, 20.0), _x(3, 4)),
    # padding
    "CircularPad1d": (lambda t: t.nn.CircularPad1d(2), _x(1, 2, 5)),
    "CircularPad2d": (lambda t: t.nn.CircularPad2d(1), _x(1, 2, 3, 3)),
    "CircularPad3d": (lambda t: t.nn.CircularPad3d(1), _x(1, 1, 2, 3, 3)),
    "ConstantPad1d": (lambda t: t.nn.ConstantPad1d(2, 3.5), _x(1, 2, 5)),
    "ConstantPad2d": (lambda t: t.nn.ConstantPad2d((1, 2, 0, 1), 0.5), _x(1, 2, 3, 3)),
    "ConstantPad3d": (lambda t: t.nn.ConstantPad3d(1, -1.0), _x(1, 1, 2, 3, 3)),
    "ReflectionPad1d": (lambda t: t.nn.ReflectionPad1d(2), _x(1, 2, 5)),
    "ReflectionPad2d": (lambda t: t.nn.ReflectionPad2d(1), _x(1, 2, 3, 3)),
    "ReflectionPad3d": (lambda t: t.nn.ReflectionPad3d(1), _x(1, 1, 2, 3, 3)),
    "ReplicationPad1d": (lambda t: t.nn.ReplicationPad1d(2), _x(1, 2, 5)),
    "ReplicationPad2d": (lambda t: t.nn.ReplicationPad2d(1), _x(1, 2, 3, 3)),
    "ReplicationPad3d": (lambda t: t.nn.ReplicationPad3d(1), _x(1, 1, 2, 3, 3)),
    "ZeroPad1d": (lambda t: t.nn.ZeroPad1d(2), _x(1, 2, 5)),
    "ZeroPad2d": (lambda t: t.nn.ZeroPad2d(1), _x(1, 2, 3, 3)),
    "ZeroPad3d": (lambda t: t.nn.ZeroPad3d(1), _x(1, 1, 2, 3, 3)),
    # recurrent
    "RNN": (lambda t: t.nn.RNN(4, 6, num_layers=2), _x(5, 3, 4)),
    "LSTM": (lambda t: t.nn.LSTM(4, 6, num_layers=2), _x(5, 3, 4)),
    "GRU": (lambda t: t.nn.GRU(4, 6, batch_first=True), _x(3, 5, 4)),
    "RNNBase": (lambda t: t.nn.GRU(4, 6, bidirectional=True), _x(5, 3, 4)),  # abstract
    "RNNCell": (lambda t: t.nn.RNNCell(4, 6), _x(3, 4)),
    "LSTMCell": (lambda t: t.nn.LSTMCell(4, 6), _x(3, 4)),
    "GRUCell": (lambda t: t.nn.GRUCell(4, 6), _x(3, 4)),
    # attention / transformer (small, eval mode)
    "MultiheadAttention": (lambda t: t.nn.MultiheadAttention(8, 2),
                           lambda rng: (f32(rng, 5, 2, 8), f32(rng, 6, 2, 8), f32(rng, 6, 2, 8))),
    "TransformerEncoderLayer": (lambda t: t.nn.TransformerEncoderLayer(8, 2, 16),
                                _x(5, 2, 8)),
    "TransformerDecoderLayer": (lambda t: t.nn.TransformerDecoderLayer(8, 2, 16),
                                lambda rng: (f32(rng, 4, 2, 8), f32(rng, 5, 2, 8))),
    "TransformerEncoder": (lambda t: t.nn.TransformerEncoder(
        t.nn.TransformerEncoderLayer(8, 2, 16), 2, enable_nested_tensor=False), _x(5, 2, 8)),
    "TransformerDecoder": (lambda t: t.nn.TransformerDecoder(
        t.nn.TransformerDecoderLayer(8, 2, 16), 2),
        lambda rng: (f32(rng, 4, 2, 8), f32(rng, 5, 2, 8))),
    "Transformer": (lambda t: t.nn.Transformer(8, 2, 1, 1, 16),
                    lambda rng: (f32(rng, 5, 2, 8), f32(rng, 4, 2, 8))),
    # containers and bases: scripted inside the smallest module that uses them
    "Sequential": (lambda t: t.nn.Sequential(t.nn.Linear(4, 5), t.nn.ReLU(), t.nn.Linear(5, 2)),
                   _x(3, 4)),
    "ModuleList": (_holder_list, _x(3, 4)),
    "ModuleDict": (_holder_dict, _x(3, 4)),
    "ParameterList": (lambda t: _holder_params(t, "list"), _x(3, 4)),
    "ParameterDict": (lambda t: _holder_params(t, "dict"), _x(3, 4)),
    "Module": (_plain_module, _x(3, 4)),  # the base: a user subclass of it
    "RNNCellBase": (lambda t: t.nn.RNNCell(4, 6, nonlinearity="relu"), _x(3, 4)),  # abstract
}

# Layers whose gradients (with respect to the input and the parameters) are also compared.
GRADIENT_LAYERS = ["Linear", "Conv2d", "LayerNorm", "LSTM", "GRU", "MultiheadAttention",
                   "TransformerEncoderLayer", "Embedding", "BatchNorm2d", "CrossEntropyLoss"]
