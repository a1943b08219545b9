# Argument validation: the factory rejects bad values with an error that names
# the argument, says what is allowed and shows the value given as R code.

cases <- read_cases("{{ cookiecutter.module }}")

test_that("the defaults are accepted and give a function", {
  expect_true(is.function({{ cookiecutter.r_function }}()))
  expect_true(is.function(make_loss(cases)))
})

for (bad in c(cases$invalid_params, cases$invalid_params_r)) {
  local({
    bad <- bad
    shown <- deparse1(bad$value)
    test_that(sprintf("rejects %s = %s", bad$name, shown), {
      args <- cases$params
      args[bad$name] <- list(bad$value)
      error <- expect_error(
        do.call("{{ cookiecutter.r_function }}", args)
      )
      message <- conditionMessage(error)
      expect_match(message, paste0("`", bad$name, "` must be "), fixed = TRUE)
      expect_true(endsWith(message, paste0(", got ", shown)), info = message)
    })
  })
}
