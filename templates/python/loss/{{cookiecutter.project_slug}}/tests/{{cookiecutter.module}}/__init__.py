"""Tests of {{ cookiecutter.function_name }} ({{ cookiecutter.package }}/{{ cookiecutter.module }}.py): values, gradients, stability, Keras integration."""
