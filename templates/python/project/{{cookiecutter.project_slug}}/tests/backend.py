"""The one place the tests depend on the Keras backend (``KERAS_BACKEND``: tensorflow, jax or torch).

Everything else goes through ``keras.ops``; gradients need the backend's own autodiff.
"""

import keras
import numpy as np
from keras import ops

BACKEND = keras.backend.backend()

# Keras bug: off TensorFlow, keras.backend.result_type maps float64 to float32, and some keras.ops
# compute float64 inputs in float32 (see the package's _exact_ops.py, which the formula losses call
# instead). Hand-written loss code may still call them: its float64 checks here work at float32's precision.
FLOAT64_IS_EXACT = BACKEND == "tensorflow"


def as_float64(tensor):
    """A tensor of any floating dtype, bfloat16 included, as a float64 NumPy array."""
    try:
        return np.asarray(ops.convert_to_numpy(tensor)).astype("float64")
    except (ValueError, TypeError):
        # a 0-d bfloat16 TF tensor has no NumPy form; float32 holds every bfloat16 exactly
        return as_float64(ops.cast(tensor, "float32"))


def values_and_gradient(function, x):
    """``function(x)`` (one value per sample) and the gradient of its sum with respect to ``x``."""
    x = ops.convert_to_tensor(x)
    if BACKEND == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(x)
            values = function(x)
            total = ops.sum(values)
        return values, tape.gradient(total, x)
    if BACKEND == "jax":
        import jax

        def total(x):
            values = function(x)
            return ops.sum(values), values

        gradient, values = jax.grad(total, has_aux=True)(x)
        return values, gradient
    if BACKEND == "torch":
        import torch

        x = x.detach().requires_grad_()
        values = function(x)
        (gradient,) = torch.autograd.grad(ops.sum(values), x)
        return values.detach(), gradient
    raise NotImplementedError(
        f"no autodiff for {BACKEND!r}; use tensorflow, jax or torch"
    )
