# The toy training script (train.R at the package root) runs and the loss falls. train.R is left out
# of the built package, so under R CMD check this test is skipped.

test_that("train.R: the loss falls on a quick run", {
  skip_if_no_keras()
  script <- normalizePath(file.path("..", "..", "train.R"), mustWork = FALSE)
  skip_if_not(file.exists(script), "train.R is not beside the tests (built package)")
  train <- new.env()
  sys.source(script, envir = train)
  losses <- train$train(epochs = 4L, seed = 0L, loss = make_loss())
  expect_length(losses, 4L)
  expect_false(anyNA(losses))
  expect_lt(losses[[4]], losses[[1]])
})
