"""NumPy versions of the formula functions that NumPy lacks.

This module is both the runtime of lossgen's own evaluator and the source that is copied into
generated reference modules, so each helper is self-contained and needs only `np`.
"""

import numpy as np


def sigmoid(x):
    return np.exp(-np.logaddexp(0.0, -x))


def softplus(x):
    return np.logaddexp(0.0, x)


def log_sigmoid(x):
    return -np.logaddexp(0.0, -x)


def relu(x):
    return np.maximum(x, 0.0)


def softmax(x, axis=-1):
    shifted = x - np.max(x, axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(x, axis=-1):
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def one_hot(labels, depth):
    return np.eye(int(depth), dtype=np.float64)[np.asarray(labels).astype(np.int64)]


def take(x, index, axis=-1):
    return np.take(x, int(index), axis=axis)


def logsumexp(x, axis=-1, keepdims=False):
    top = np.max(x, axis=axis, keepdims=True)
    total = np.log(np.sum(np.exp(x - top), axis=axis, keepdims=True)) + top
    return total if keepdims else np.squeeze(total, axis=axis)


def eye(x):
    return np.eye(np.shape(x)[0], dtype=np.float64)


def gram(x):
    return x @ np.swapaxes(x, -1, -2)


def batch_total(x):
    return np.broadcast_to(np.sum(x, axis=0, keepdims=True), np.shape(x))


def half(x, index):
    return np.split(x, 2, axis=-1)[int(index)]
