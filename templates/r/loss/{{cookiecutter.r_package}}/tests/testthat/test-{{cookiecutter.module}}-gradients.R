# Gradient check: TensorFlow autodiff through the R function against central
# differences, in float64.

cases <- read_cases("{{ cookiecutter.module }}")

test_that("autodiff matches central differences", {
  skip_if_no_keras()
  loss <- make_loss(cases)
  step <- 1e-6
  total <- function(y_pred) {
    as.numeric(as_r(tf$reduce_sum(loss(cases$random_y_true, y_pred))))
  }

  # random_y_pred is a random point of the task domain: with probability one
  # it is nowhere near a kink.
  autodiff <- values_and_gradient(
    loss, cases$random_y_true, cases$random_y_pred, "float64"
  )$gradient
  numeric <- cases$random_y_pred
  for (i in seq_along(cases$random_y_pred)) {
    up <- cases$random_y_pred
    down <- cases$random_y_pred
    up[i] <- up[i] + step
    down[i] <- down[i] - step
    numeric[i] <- (total(up) - total(down)) / (2 * step)
  }

  expect_true(all(is.finite(autodiff)))
  expect_equal(dim(autodiff), dim(as.array(cases$random_y_pred)))
  expect_close(autodiff, numeric, rtol = 1e-5, atol = 1e-6)
})
