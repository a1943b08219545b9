{%- set loss = cookiecutter._loss -%}
# Values in float64: the spec's hand-computed examples and the NumPy reference
# lossgen computed from the spec when it generated this package (the Python
# project checks the same numbers).

cases <- read_cases("{{ cookiecutter.module }}")

for (i in seq_along(cases$examples)) {
  test_that(sprintf("spec example %d", i), {
    skip_if_no_keras()
    example <- cases$examples[[i]]
    values <- make_loss(cases, example$params)(example$y_true, example$y_pred)
    expect_close(as_r(values), example$loss, rtol = 1e-6, atol = 1e-9)
  })
}

{%- if loss.has_formula %}

test_that("matches the NumPy float64 reference computed at generation time", {
  skip_if_no_keras()
  values <- make_loss(cases)(cases$random_y_true, cases$random_y_pred)
  expect_equal(values$dtype$name, "float64")
  expect_close(as_r(values), cases$random_loss, rtol = 1e-6, atol = 1e-9)
})
{%- if cookiecutter._loss.is_composite %}

test_that("equals the weighted sum of its parts, each from its own spec", {
  skip_if_no_keras()
  values <- make_loss(cases)(cases$random_y_true, cases$random_y_pred)
  expect_close(as_r(values), cases$random_parts_total, rtol = 1e-6, atol = 1e-9)
})
{%- endif %}
{%- else %}

# The spec has hand-written code and no formula, so there are no generated
# reference values:
# the hand-computed examples above are what this package is checked against.
{%- endif %}
