# The returned function gives one value per sample, and targets without the
# trailing axis align with predictions instead of broadcasting to
# (batch, batch).

cases <- read_cases("{{ cookiecutter.module }}")

test_that("one value per sample", {
  skip_if_no_keras()
  values <- make_loss(cases)(cases$random_y_true, cases$random_y_pred)
  expect_equal(length(values$shape), 1L)
  expect_equal(unlist(values$shape$as_list()), NROW(cases$random_y_pred))
})

test_that("the function is a Python callable named after the R function", {
  skip_if_no_keras()
  callable <- reticulate::r_to_py(make_loss(cases))
  name <- reticulate::py_get_attr(callable, "__name__")
  expect_equal(
    reticulate::py_to_r(name),
    "{{ cookiecutter.r_function }}"
  )
})
{%- if cookiecutter.task in ("sparse_categorical", "embedding") %}

test_that("labels of shape (batch) and (batch, 1) give the same values", {
  skip_if_no_keras()
  loss <- make_loss(cases)
  labels <- as.numeric(cases$random_y_true)
  flat <- as_r(loss(labels, cases$random_y_pred))
  column <- as_r(loss(matrix(labels, ncol = 1), cases$random_y_pred))
  expect_close(flat, column, rtol = 1e-6)
  expect_equal(length(flat), length(labels))
})
{%- elif cookiecutter.task == "gaussian" %}

test_that("targets of shape (batch) and (batch, 1) give the same values", {
  skip_if_no_keras()
  loss <- make_loss(cases)
  flat <- as_r(loss(as.numeric(cases$random_y_true), cases$random_y_pred))
  column <- as_r(loss(cases$random_y_true, cases$random_y_pred))
  expect_equal(length(flat), NROW(cases$random_y_pred))
  expect_close(flat, column, rtol = 1e-6)
})
{%- elif cookiecutter.task == "segmentation" %}

test_that("masks of any rank read as rows of pixels", {
  skip_if_no_keras()
  loss <- make_loss(cases)
  dims <- dim(cases$random_y_pred)
  image_dims <- c(dims[1], 1L, dims[2], dims[3])
  values <- as_r(loss(
    array(cases$random_y_true, image_dims),
    array(cases$random_y_pred, image_dims)
  ))
  expected <- as_r(loss(cases$random_y_true, cases$random_y_pred))
  expect_close(values, expected, rtol = 1e-10)
})
{%- elif cookiecutter.task not in ("categorical", "multi_output", "boxes") %}

test_that("targets of shape (batch) align with predictions (batch, 1)", {
  skip_if_no_keras()
  loss <- make_loss(cases)
  y_true <- cases$random_y_true[, 1, drop = FALSE]
  y_pred <- cases$random_y_pred[, 1, drop = FALSE]
  expected <- as_r(loss(y_true, y_pred))
  values <- as_r(loss(as.numeric(y_true), y_pred))
  expect_equal(length(values), NROW(y_pred))
  expect_close(values, expected, rtol = 1e-5)
})
{%- endif %}
{%- if cookiecutter.task in ("binary", "categorical", "sparse_categorical",
                              "metric", "embedding") %}

test_that("integer labels give the same values as float labels", {
  skip_if_no_keras()
  loss <- make_loss(cases)
  as_integer <- cases$random_y_true
  storage.mode(as_integer) <- "integer"
  expect_close(
    as_r(loss(as_integer, cases$random_y_pred)),
    as_r(loss(cases$random_y_true, cases$random_y_pred)),
    rtol = 1e-6
  )
})
{%- endif %}
{%- if cookiecutter.task == "embedding" %}

test_that("permuting the batch permutes the values", {
  skip_if_no_keras()
  loss <- make_loss(cases)
  order <- rev(seq_len(NROW(cases$random_y_pred)))
  values <- as_r(loss(cases$random_y_true, cases$random_y_pred))
  permuted <- as_r(loss(
    cases$random_y_true[order, , drop = FALSE],
    cases$random_y_pred[order, , drop = FALSE]
  ))
  expect_close(permuted, values[order], rtol = 1e-6)
})
{%- endif %}
