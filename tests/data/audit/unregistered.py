"""A plain function, not registered with Keras: a model compiled with it cannot be reloaded."""

import keras
from _prepare import prepare
from keras import ops


def plain_mae(y_true, y_pred):  # defect: not registered
    y_true, y_pred = prepare(y_true, y_pred)
    return ops.mean(ops.abs(y_true - y_pred), axis=-1)


@keras.saving.register_keras_serializable(package="audit_unregistered")
def registered_mae(y_true, y_pred):  # fixed
    y_true, y_pred = prepare(y_true, y_pred)
    return ops.mean(ops.abs(y_true - y_pred), axis=-1)
