"""A Loss subclass whose get_config misses a parameter: it reloads with the default (keras-cv's CIoULoss)."""

import keras
from _prepare import prepare
from keras import ops


@keras.saving.register_keras_serializable(package="audit_config")
class HuberNoConfig(keras.losses.Loss):
    def __init__(self, delta=1.0, name="huber_no_config", reduction="sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.delta = delta

    def call(self, y_true, y_pred):
        y_true, y_pred = prepare(y_true, y_pred)
        error = ops.abs(y_pred - y_true)
        quadratic = ops.minimum(error, self.delta)
        return ops.mean(0.5 * ops.square(quadratic) + self.delta * (error - quadratic), axis=-1)

    # defect: no get_config, so Loss.get_config() gives name and reduction only


@keras.saving.register_keras_serializable(package="audit_config")
class Huber(HuberNoConfig):
    def get_config(self):
        return {**super().get_config(), "delta": self.delta}  # fixed
