# Inputs and expected values for the tests of one loss, drawn by lossgen when it
# generated this package; read_cases() in helper-keras.R evaluates this list.
#
# loss: the function tested. params: the values this package was generated
# with. examples: the spec's hand-computed examples. random_*: a moderate point
# of the domain of the task (no clipping or saturation active) with its float64
# NumPy reference loss (NULL when the spec has hand-written code instead of a
# formula). extremes: saturating inputs on which values and gradients must stay
# finite. invalid_params: arguments the factory must reject (the Python project
# rejects the same); invalid_params_r: R-only bad arguments (wrong type, NA,
# wrong length). The Python project generated from the same spec uses the same
# inputs and expected values in its tests/<module>/cases.py; indexes here count
# from 1.

{{ cookiecutter._loss.r_cases }}
