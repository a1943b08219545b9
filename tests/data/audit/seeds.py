"""Snippets of ../../../shared/seeds (the tutorials lossgen started from), made importable. Written
as the articles write them, except Keras 2's backend functions (K.clip, K.log, K.mean), which
Keras 3 no longer has: keras.ops stands in for them, one for one."""

import tensorflow as tf
from keras import ops


# 001 "How can I define custom loss functions in TensorFlow Keras?", example 1: reduce_mean over
# the whole batch, and y_true cast to float32 whatever y_pred is.
def weighted_binary_crossentropy(weights):
    def loss(y_true, y_pred):
        y_true = tf.cast(y_true, tf.float32)  # Ensure y_true is float
        y_pred = tf.clip_by_value(y_pred, tf.keras.backend.epsilon(), 1 - tf.keras.backend.epsilon())
        bce = -(weights[1] * y_true * tf.math.log(y_pred) + weights[0] * (1 - y_true) * tf.math.log(1 - y_pred))
        return tf.reduce_mean(bce)

    return loss


weighted_bce = weighted_binary_crossentropy([0.1, 0.9])


# 002, example 2: Huber "for robust regression", reduce_mean over the batch.
def huber_loss(y_true, y_pred, delta=1.0):
    error = tf.abs(y_true - y_pred)
    quadratic = tf.minimum(error, delta)
    linear = error - quadratic
    loss = 0.5 * quadratic**2 + delta * linear
    return tf.reduce_mean(loss)


# 003 "Custom loss function in Keras": mean squared logarithmic error (K.clip(x, eps, None) as ops.maximum).
def custom_mean_squared_logarithmic_error(y_true, y_pred):
    first_log = ops.log(ops.maximum(y_pred, 1e-7) + 1.0)
    second_log = ops.log(ops.maximum(y_true, 1e-7) + 1.0)
    return ops.mean(ops.square(first_log - second_log), axis=-1)


# 004 "How can loss be incorporated into a Keras model function?", example 1: per sample, right,
# but not registered, so a model compiled with it does not reload.
def custom_mse(y_true, y_pred):
    mse = ops.mean(ops.square(y_true - y_pred), axis=-1)
    return mse
