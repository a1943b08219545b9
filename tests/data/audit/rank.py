"""(B,) labels against (B, 1) predictions broadcast to (B, B) inside Loss.call (keras#14627)."""

import keras
from _prepare import prepare
from keras import ops


@keras.saving.register_keras_serializable(package="audit_rank")
class BroadcastMSE(keras.losses.Loss):
    def call(self, y_true, y_pred):
        return ops.mean(ops.square(y_true - y_pred), axis=-1)  # defect: (B,) - (B, 1) is (B, B)


@keras.saving.register_keras_serializable(package="audit_rank")
class AlignedMSE(keras.losses.Loss):
    def call(self, y_true, y_pred):
        y_true, y_pred = prepare(y_true, y_pred)  # fixed: ranks aligned (and float32 for half inputs)
        return ops.mean(ops.square(y_true - y_pred), axis=-1)
