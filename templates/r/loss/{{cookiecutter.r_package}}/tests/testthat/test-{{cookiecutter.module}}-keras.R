{%- set loss = cookiecutter._loss -%}
# Keras integration through plain reticulate: compile() accepts the R function,
# a model trained with it saves to .keras, and reloads with custom_objects
# naming the function.

cases <- read_cases("{{ cookiecutter.module }}")

test_that("compile, fit, save and reload with custom_objects", {
  skip_if_no_keras()
  keras <- reticulate::import("keras")
  keras$utils$set_random_seed(1L)
  set.seed(1)
  inputs <- matrix(rnorm(NROW(cases$random_y_pred) * 4), ncol = 4)
  # array(): reticulate hands Python a plain R vector as a list, which fit()
  # does not take.
  targets <- cases$random_y_true
  if (is.null(dim(targets))) {
    targets <- array(targets)
  }
{%- if cookiecutter.task == "segmentation" %}
  # A mask of the test inputs' pixels, the activation over each pixel's classes.
  pixels <- dim(cases$random_y_pred)[2]
  model <- keras$Sequential(list(
    keras$Input(shape = list(4L)),
    keras$layers$Dense(pixels * {{ loss.width }}L),
    keras$layers$Reshape(list(pixels, {{ loss.width }}L)),
    keras$layers$Activation("{{ loss.head_activation }}")
  ))
{%- else %}
  model <- keras$Sequential(list(
    keras$Input(shape = list(4L)),
    keras$layers$Dense(
      {{ loss.width }}L,
      activation = "{{ loss.head_activation }}"
    )
  ))
{%- endif %}
  model$compile(optimizer = "adam", loss = make_loss(cases))
  history <- model$fit(inputs, targets, epochs = 1L, verbose = 0L)
  expect_true(is.finite(history$history$loss[[1]]))

  path <- tempfile(fileext = ".keras")
  on.exit(unlink(path), add = TRUE)
  model$save(path)
  # Without custom_objects Keras cannot know the R function, and says which
  # name it looked for.
  expect_error(
    keras$models$load_model(path),
    "{{ cookiecutter.r_function }}"
  )

  custom <- list(make_loss(cases))
  names(custom) <- cases$loss
  reloaded <- keras$models$load_model(path, custom_objects = custom)
  expect_close(
    reloaded$predict(inputs, verbose = 0L),
    model$predict(inputs, verbose = 0L),
    rtol = 1e-6
  )
  expect_close(
    reloaded$evaluate(inputs, targets, verbose = 0L),
    model$evaluate(inputs, targets, verbose = 0L),
    rtol = 1e-5
  )
})
