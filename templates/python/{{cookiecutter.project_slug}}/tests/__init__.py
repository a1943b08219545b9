"""Tests of the generated loss: values, gradients, stability, Keras integration, training."""
