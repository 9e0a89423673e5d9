"""Neural-network modules, ``nn.functional`` and ``nn.init`` (PyTorch's ``torch.nn``)."""

from graphtorch.nn import functional, init, utils
from graphtorch.nn.activation import (
    CELU,
    ELU,
    GELU,
    GLU,
    SELU,
    Hardsigmoid,
    Hardswish,
    Hardtanh,
    LeakyReLU,
    LogSigmoid,
    LogSoftmax,
    Mish,
    PReLU,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Softmax2d,
    Softmin,
    Softplus,
    Softsign,
    Tanh,
    Tanhshrink,
    Threshold,
)
from graphtorch.nn.attention import MultiheadAttention
from graphtorch.nn.batchnorm import BatchNorm1d, BatchNorm2d, BatchNorm3d
from graphtorch.nn.container import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from graphtorch.nn.conv import (
    Conv1d,
    Conv2d,
    Conv3d,
    ConvTranspose1d,
    ConvTranspose2d,
    ConvTranspose3d,
)
from graphtorch.nn.dropout import Dropout, Dropout1d, Dropout2d, Dropout3d
from graphtorch.nn.embedding_bag import EmbeddingBag
from graphtorch.nn.flatten import Flatten, Unflatten
from graphtorch.nn.instancenorm import InstanceNorm1d, InstanceNorm2d, InstanceNorm3d
from graphtorch.nn.likelihood_loss import GaussianNLLLoss, PoissonNLLLoss
from graphtorch.nn.linear import Bilinear, Identity, Linear
from graphtorch.nn.loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from graphtorch.nn.margin_loss import (
    CosineEmbeddingLoss,
    HingeEmbeddingLoss,
    MarginRankingLoss,
    MultiLabelSoftMarginLoss,
    SoftMarginLoss,
    TripletMarginLoss,
)
from graphtorch.nn.module import Module
from graphtorch.nn.normalization import GroupNorm, LayerNorm
from graphtorch.nn.padding import (
    CircularPad1d,
    CircularPad2d,
    CircularPad3d,
    ConstantPad1d,
    ConstantPad2d,
    ConstantPad3d,
    ReflectionPad1d,
    ReflectionPad2d,
    ReflectionPad3d,
    ReplicationPad1d,
    ReplicationPad2d,
    ReplicationPad3d,
    ZeroPad1d,
    ZeroPad2d,
    ZeroPad3d,
)
from graphtorch.nn.parameter import Buffer, Parameter
from graphtorch.nn.pooling import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AdaptiveAvgPool3d,
    AdaptiveMaxPool1d,
    AdaptiveMaxPool2d,
    AdaptiveMaxPool3d,
    AvgPool1d,
    AvgPool2d,
    AvgPool3d,
    LPPool1d,
    LPPool2d,
    MaxPool1d,
    MaxPool2d,
    MaxPool3d,
    MaxUnpool1d,
    MaxUnpool2d,
    MaxUnpool3d,
)
from graphtorch.nn.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNBase, RNNCell, RNNCellBase
from graphtorch.nn.sparse import Embedding
from graphtorch.nn.transformer import (
    Transformer,
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)
from graphtorch.nn.upsampling import (
    PixelShuffle,
    PixelUnshuffle,
    Upsample,
    UpsamplingBilinear2d,
    UpsamplingNearest2d,
)

__all__ = [
    "MultiheadAttention", "TransformerEncoder", "TransformerEncoderLayer", "Transformer",
    "TransformerDecoder", "TransformerDecoderLayer",
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d",
    "AvgPool1d", "AvgPool2d", "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "BCELoss",
    "BCEWithLogitsLoss", "Bilinear", "Buffer", "Conv1d", "Conv2d", "ConvTranspose1d",
    "ConvTranspose2d", "CrossEntropyLoss", "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "ELU",
    "Embedding", "Flatten", "functional", "GELU", "GroupNorm", "GRU", "GRUCell", "Hardtanh",
    "HuberLoss", "Identity", "init", "KLDivLoss", "L1Loss", "LayerNorm", "LeakyReLU", "Linear",
    "LogSoftmax", "LSTM", "LSTMCell", "MaxPool1d", "MaxPool2d",
    "MaxUnpool1d", "MaxUnpool2d", "Mish", "Module", "ModuleDict",
    "ModuleList", "MSELoss", "NLLLoss", "Parameter", "ParameterDict", "ParameterList", "PReLU",
    "ReLU", "ReLU6", "RNN", "CELU", "GLU", "SELU", "Hardsigmoid", "Hardswish", "LogSigmoid",
    "Softsign", "Tanhshrink", "Threshold", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d",
    "PixelShuffle", "PixelUnshuffle", "Upsample", "UpsamplingBilinear2d", "UpsamplingNearest2d",
    "CircularPad1d", "CircularPad2d", "CircularPad3d", "ConstantPad1d", "ConstantPad2d",
    "ConstantPad3d", "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d", "ReplicationPad1d",
    "ReplicationPad2d", "ReplicationPad3d", "ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "RNNBase",
    "RNNCell", "RNNCellBase", "Sequential", "GaussianNLLLoss", "PoissonNLLLoss",
    "CosineEmbeddingLoss", "HingeEmbeddingLoss", "MarginRankingLoss", "MultiLabelSoftMarginLoss",
    "SoftMarginLoss", "TripletMarginLoss", "Conv3d", "ConvTranspose3d", "AdaptiveAvgPool3d",
    "AdaptiveMaxPool3d", "AvgPool3d", "MaxPool3d", "MaxUnpool3d", "LPPool1d", "LPPool2d",
    "EmbeddingBag", "Softmax2d",
    "Sigmoid", "SiLU",
    "SmoothL1Loss", "Softmax", "Softmin", "Softplus", "Tanh", "Unflatten", "utils",
]

from graphtorch.nn import modules as modules  # noqa: E402 - torch.nn.modules paths
from graphtorch.nn import parallel as parallel  # noqa: E402 - DDP needs the modules above
