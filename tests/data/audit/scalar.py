"""Returns one scalar for the whole batch: sample_weight does nothing per sample (tensorflow#42446)."""

import keras
from _prepare import prepare
from keras import ops


@keras.saving.register_keras_serializable(package="audit_scalar")
def scalar_mse(y_true, y_pred):
    y_true, y_pred = prepare(y_true, y_pred)
    return ops.mean(ops.square(y_true - y_pred))  # defect: mean over the batch too


@keras.saving.register_keras_serializable(package="audit_scalar")
def mse(y_true, y_pred):
    y_true, y_pred = prepare(y_true, y_pred)
    return ops.mean(ops.square(y_true - y_pred), axis=-1)  # fixed: one value per sample


class CustomMSE(keras.losses.Loss):
    """TensorFlow's guide's CustomMSE, as written there: a scalar for the batch, and no get_config."""

    def __init__(self, regularization_factor=0.1, name="custom_mse"):
        super().__init__(name=name)
        self.regularization_factor = regularization_factor

    def call(self, y_true, y_pred):
        mse = ops.mean(ops.square(y_true - y_pred))
        reg = ops.mean(ops.square(0.5 - y_pred))
        return mse + reg * self.regularization_factor
