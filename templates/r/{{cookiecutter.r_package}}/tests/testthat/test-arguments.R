# Argument validation: the factory rejects bad values with an error naming the argument.

test_that("the defaults are accepted and give a function", {
  expect_true(is.function({{ cookiecutter.r_function }}()))
  expect_true(is.function(make_loss()))
})

for (bad in c(invalid_params, invalid_params_r)) {
  local({
    bad <- bad
    test_that(sprintf("rejects %s = %s", bad$name, paste(deparse(bad$value), collapse = "")), {
      args <- params
      args[bad$name] <- list(bad$value)
      expect_error(do.call({{ cookiecutter.r_function }}, args), paste0("`", bad$name, "`"), fixed = TRUE)
    })
  })
}
