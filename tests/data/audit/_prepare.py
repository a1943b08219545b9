"""What a correct hand-written loss does first (lossgen's generated losses do the same): compute in
float32 at least, and align y_true's rank to y_pred's."""

import keras
from keras import ops


def prepare(y_true, y_pred):
    dtype = "float64" if keras.backend.standardize_dtype(y_pred.dtype) == "float64" else "float32"
    y_true, y_pred = ops.cast(y_true, dtype), ops.cast(y_pred, dtype)
    if len(y_true.shape) == len(y_pred.shape) - 1:
        y_true = ops.expand_dims(y_true, -1)
    return y_true, y_pred
