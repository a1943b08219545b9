"""``keras.ops`` functions that keep a float64 input's precision on every backend.

Off TensorFlow, ``keras.backend.result_type`` maps float64 to float32 (Keras 3.15), so some ops
compute a float64 loss at float32 precision (a relative error of 1e-7 instead of 1e-16): ``mean``
on JAX and PyTorch, ``tanh`` and ``arctan`` on JAX, and on PyTorch ``minimum``, ``maximum``,
``matmul``, and a Python number given to ``clip`` or ``where`` (it becomes a float32 tensor). The
losses call these instead; each takes the same arguments as its ``keras.ops`` namesake (``gram(x)``
is ``matmul(x, transpose(x))``) and, on TensorFlow, is that function.
"""

import math

import keras
from keras import ops

BACKEND = keras.backend.backend()


def minimum(x1, x2):
    if BACKEND != "torch":
        return ops.minimum(x1, x2)
    import torch

    return torch.minimum(*_in_common_dtype(x1, x2))


def maximum(x1, x2):
    if BACKEND != "torch":
        return ops.maximum(x1, x2)
    import torch

    return torch.maximum(*_in_common_dtype(x1, x2))


def clip(x, x_min, x_max):
    return ops.clip(*_in_common_dtype(x, x_min, x_max))


def where(condition, x1, x2):
    return ops.where(condition, *_in_common_dtype(x1, x2))


def mean(x, axis=None, keepdims=False):
    if BACKEND == "tensorflow":
        return ops.mean(x, axis=axis, keepdims=keepdims)
    # JAX and PyTorch shapes are static: the count is a Python int.
    axes = range(len(x.shape)) if axis is None else axis if isinstance(axis, (tuple, list)) else (axis,)
    return ops.sum(x, axis=axis, keepdims=keepdims) / math.prod(x.shape[a] for a in axes)


def tanh(x):
    if BACKEND != "jax":
        return ops.tanh(x)
    import jax.numpy as jnp

    return jnp.tanh(x)


def arctan(x):
    if BACKEND != "jax":
        return ops.arctan(x)
    import jax.numpy as jnp

    return jnp.arctan(x)


def gram(x):
    """The dot products of x's rows with each other, shape (batch, batch)."""
    if BACKEND != "torch":
        return ops.matmul(x, ops.transpose(x))
    import torch

    return torch.matmul(x, x.transpose(0, 1))


def _in_common_dtype(*values):
    """The values as tensors of the first tensor's dtype (the loss computes in one dtype)."""
    dtype = next(keras.backend.standardize_dtype(v.dtype) for v in values if hasattr(v, "dtype"))
    return [ops.convert_to_tensor(v, dtype=dtype) for v in values]
