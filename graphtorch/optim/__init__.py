"""Optimizers and learning-rate schedulers (``graphtorch.optim``)."""

from graphtorch.optim import lr_scheduler
from graphtorch.optim.adagrad import Adagrad
from graphtorch.optim.adam import Adam
from graphtorch.optim.adamw import AdamW
from graphtorch.optim.optimizer import Optimizer
from graphtorch.optim.rmsprop import RMSprop
from graphtorch.optim.sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "lr_scheduler"]
