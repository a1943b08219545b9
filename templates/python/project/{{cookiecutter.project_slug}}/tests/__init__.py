"""Tests of the generated losses: one package per loss (values, gradients, stability, Keras), and training."""
