# Shared test tools. Python modules are imported lazily so that loading the
# helpers never fails.
tf <- reticulate::import("tensorflow", delay_load = TRUE)

skip_if_no_keras <- function() {
  available <- reticulate::py_available(initialize = TRUE) &&
    reticulate::py_module_available("keras") &&
    reticulate::py_module_available("tensorflow")
  if (!available) {
    testthat::skip(paste(
      "Python keras and tensorflow are not available to reticulate",
      "(set RETICULATE_PYTHON)"
    ))
  }
}

# A tensor (any float dtype, bfloat16 included) as an R numeric array in
# float64.
as_r <- function(x) {
  tf$cast(x, "float64")$numpy()
}

# |actual - expected| <= atol + rtol * |expected|, elementwise, like
# numpy.testing.assert_allclose.
expect_close <- function(actual, expected, rtol = 1e-6, atol = 1e-9) {
  actual <- as.numeric(actual)
  expected <- as.numeric(expected)
  ok <- length(actual) == length(expected) &&
    all(is.finite(actual) == is.finite(expected)) &&
    all(abs(actual - expected) <= atol + rtol * abs(expected), na.rm = TRUE)
  testthat::expect(ok, sprintf(
    "not close (rtol %g, atol %g):\n  actual:   %s\n  expected: %s", rtol, atol,
    paste(format(actual, digits = 15), collapse = ", "),
    paste(format(expected, digits = 15), collapse = ", ")
  ))
  invisible(actual)
}

# The test data of one loss (tests/testthat/cases/<module>.R): each test file
# reads its own, so that the losses of one package never share a global.
read_cases <- function(module) {
  path <- testthat::test_path("cases", paste0(module, ".R"))
  source(path, local = new.env())$value
}

# The loss of `cases` with the generated parameters, or with `with` (a named
# list).
make_loss <- function(cases, with = cases$params) {
  do.call(cases$loss, with)
}

# Values and gradient of the summed loss with respect to y_pred, for tensors of
# the given dtype.
values_and_gradient <- function(loss, y_true, y_pred, dtype) {
  y_true <- tf$constant(y_true, dtype = dtype)
  y_pred <- tf$Variable(tf$constant(y_pred, dtype = dtype))
  tape <- tf$GradientTape()
  with(tape, {
    values <- loss(y_true, y_pred)
  })
  gradient <- tape$gradient(values, y_pred)
  list(values = as_r(values), gradient = as_r(gradient))
}
