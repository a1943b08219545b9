"""log(1 + exp(x)) overflows in float16 (exp(12) > 65504), and at large logits in any precision."""

import keras
from _prepare import prepare
from keras import ops


@keras.saving.register_keras_serializable(package="audit_overflow")
def naive_logistic(y_true, y_pred):
    return ops.mean(ops.log(1.0 + ops.exp(y_pred)) - y_true * y_pred, axis=-1)  # defect


@keras.saving.register_keras_serializable(package="audit_overflow")
def stable_logistic(y_true, y_pred):
    y_true, y_pred = prepare(y_true, y_pred)
    return ops.mean(ops.softplus(y_pred) - y_true * y_pred, axis=-1)  # fixed: softplus, in float32
