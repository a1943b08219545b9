"""Inputs and expected values for the tests, drawn by lossgen when it generated this project.

PARAMS are the values this project was generated with. EXAMPLES are the spec's hand-computed
examples. RANDOM is a moderate point of the {{ cookiecutter.task }} domain (no clipping or
saturation active) with its float64 NumPy reference loss. EXTREMES are saturating inputs on which
values and gradients must stay finite. The R package generated from the same spec uses the same data.
"""

import numpy as np

{{ cookiecutter._loss.cases_python }}
