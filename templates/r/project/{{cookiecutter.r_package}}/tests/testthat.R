# Run by R CMD check. Python Keras is found through reticulate: set
# RETICULATE_PYTHON to the interpreter that has keras and tensorflow installed.
library(testthat)
library({{ cookiecutter.r_package }})

test_check("{{ cookiecutter.r_package }}")
