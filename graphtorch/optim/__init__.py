"""Optimizers and learning-rate schedulers (``graphtorch.optim``)."""

from graphtorch.optim import lr_scheduler
from graphtorch.optim.adadelta import Adadelta
from graphtorch.optim.adagrad import Adagrad
from graphtorch.optim.adam import Adam
from graphtorch.optim.adamax import Adamax
from graphtorch.optim.adamw import AdamW
from graphtorch.optim.lbfgs import LBFGS
from graphtorch.optim.nadam import NAdam
from graphtorch.optim.optimizer import Optimizer
from graphtorch.optim.radam import RAdam
from graphtorch.optim.rmsprop import RMSprop
from graphtorch.optim.sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax",
           "NAdam", "RAdam", "LBFGS", "lr_scheduler"]
