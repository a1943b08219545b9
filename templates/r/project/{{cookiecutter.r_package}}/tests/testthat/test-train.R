# The toy training script (train.R at the package root) runs and the loss
# falls. train.R is left out of the built package, so under R CMD check this
# test is skipped.

train_script <- function() {
  normalizePath(file.path("..", "..", "train.R"), mustWork = FALSE)
}

modules <- c(
  {{ cookiecutter._project.losses | map(attribute="module") | map("tojson") | join(", ") | wordwrap(76, False, "\n  ") }}
)
for (module in modules) {
  local({
    module <- module
    test_that(sprintf("train.R: the loss falls on a quick run (%s)", module), {
      skip_if_no_keras()
      script <- train_script()
      skip_if_not(file.exists(script), "train.R is not here (built package)")
      train <- new.env()
      sys.source(script, envir = train)
      loss <- make_loss(read_cases(module))
      losses <- train$train(module, epochs = 4L, seed = 0L, loss = loss)
      expect_length(losses, 4L)
      expect_false(anyNA(losses))
      expect_lt(losses[[4]], losses[[1]])
    })
  })
}

test_that("train.R: usage errors, --help and --plot's file checked first", {
  script <- train_script()
  skip_if_not(file.exists(script), "train.R is not here (built package)")
  train <- new.env()
  sys.source(script, envir = train)
  parse <- train$parse_args
  expect_equal(parse(character())$epochs, 10L)
  expect_equal(parse(character())$loss, train$default_loss)
  expect_true(train$default_loss %in% names(train$losses))
  expect_error(parse(c("--loss", "x")), "--loss must be one of", fixed = TRUE)
  expect_equal(parse(c("--epochs", "3", "--plot", "x.png"))$plot, "x.png")
  expect_true(parse("--help")$help)
  expect_error(parse("--plot"), "--plot needs a value", fixed = TRUE)
  expect_error(parse(c("--epochs", "two")), "--epochs", fixed = TRUE)
  expect_error(parse("--lr"), "unknown argument: --lr", fixed = TRUE)
  unwritable <- file.path(tempfile(), "no", "such", "dir", "loss.png")
  expect_error(train$check_writable(unwritable), "cannot write", fixed = TRUE)
})
