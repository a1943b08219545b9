# Numerical stability: extreme inputs of the task's domain in float32, float16
# and bfloat16.
#
# Values must be finite, and so must gradients. float16 cannot hold numbers
# above 65504, so a large but correct gradient overflows to inf there
# (mixed-precision loss scaling handles that); a NaN is always a bug, so for
# float16 the gradient must be NaN-free.

cases <- read_cases("{{ cookiecutter.module }}")

for (case in cases$extremes) {
  for (dtype in c("float32", "float16", "bfloat16")) {
    local({
      case <- case
      dtype <- dtype
      name <- sprintf("finite values and gradients: %s in %s", case$name, dtype)
      test_that(name, {
        skip_if_no_keras()
        result <- values_and_gradient(
          make_loss(cases), case$y_true, case$y_pred, dtype
        )
        values <- result$values
        gradient <- result$gradient
        expect_true(all(is.finite(values)), info = toString(values))
        expect_equal(length(values), NROW(case$y_pred))
        if (dtype == "float16") {
          expect_false(anyNA(gradient), info = toString(gradient))
        } else {
          expect_true(all(is.finite(gradient)), info = toString(gradient))
        }
      })
    })
  }
}
