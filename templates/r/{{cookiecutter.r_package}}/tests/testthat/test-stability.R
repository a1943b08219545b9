# Numerical stability: extreme inputs of the {{ cookiecutter.task }} domain in float32, float16 and bfloat16.
#
# Values must be finite, and so must gradients. float16 cannot hold numbers above 65504, so a large
# but correct gradient overflows to inf there (mixed-precision loss scaling handles that); a NaN is
# always a bug, so for float16 the gradient must be NaN-free.

for (case in extremes) {
  for (dtype in c("float32", "float16", "bfloat16")) {
    local({
      case <- case
      dtype <- dtype
      test_that(sprintf("finite values and gradients: %s in %s", case$name, dtype), {
        skip_if_no_keras()
        result <- values_and_gradient(make_loss(), case$y_true, case$y_pred, dtype)
        expect_true(all(is.finite(result$values)), info = paste(result$values, collapse = ", "))
        expect_equal(length(result$values), NROW(case$y_pred))
        if (dtype == "float16") {
          expect_false(anyNA(result$gradient), info = paste(result$gradient, collapse = ", "))
        } else {
          expect_true(all(is.finite(result$gradient)), info = paste(result$gradient, collapse = ", "))
        }
      })
    })
  }
}
