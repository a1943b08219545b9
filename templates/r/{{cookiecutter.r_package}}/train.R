{%- set loss = cookiecutter._loss -%}
{%- set task = cookiecutter.task -%}
# Train a small Keras model with {{ cookiecutter.r_function }}() on synthetic {{ task }} data.
#
#   Rscript train.R [--epochs 10] [--seed 0]
#
# Prints the training loss per epoch; it should fall (the script exits with status 1 if it does not).
# It uses the package's R files beside this script, or the installed {{ cookiecutter.r_package }} package when
# run from elsewhere, and Python Keras through reticulate: set RETICULATE_PYTHON to the interpreter
# that has keras and tensorflow installed.

keras <- reticulate::import("keras", delay_load = TRUE)

PARAMS <- list({{ loss.r_signature }})
FEATURES <- 8L
OUTPUTS <- {{ loss.width }}L

# Inputs and targets with a learnable relation between them.
make_data <- function(samples = 512L, seed = 0L) {
  set.seed(seed)
{%- if task == "metric" %}
  # Pairs of points; label 1 when both come from the same cluster.
  centers <- matrix(rnorm(4L * FEATURES, sd = 3), 4L, FEATURES)
  left <- sample.int(4L, samples, replace = TRUE)
  right <- ifelse(runif(samples) < 0.5, left, sample.int(4L, samples, replace = TRUE))
  noise <- function() matrix(rnorm(samples * FEATURES, sd = 0.5), samples, FEATURES)
  x <- cbind(centers[left, ] + noise(), centers[right, ] + noise())
  y <- matrix(as.numeric(left == right), ncol = 1L)
{%- else %}
  x <- matrix(rnorm(samples * FEATURES), samples, FEATURES)
  weights <- matrix(rnorm(FEATURES * OUTPUTS), FEATURES, OUTPUTS)
  scores <- x %*% weights
{%- if task in ("regression", "multi_output") %}
  y <- scores + matrix(rnorm(length(scores), sd = 0.1), nrow(scores))
{%- elif task == "positive_regression" %}
  y <- matrix(as.numeric(rpois(length(scores), exp(0.3 * scores))), nrow(scores))
{%- elif task == "binary" %}
  y <- (scores > 0) * 1
{%- elif task == "categorical" %}
  y <- diag(OUTPUTS)[max.col(scores, ties.method = "first"), , drop = FALSE]
{%- elif task == "sparse_categorical" %}
  # Integer labels 0 .. OUTPUTS - 1, shape (samples); array() so that Python gets a NumPy array, not a list.
  y <- array(max.col(scores, ties.method = "first") - 1L)
{%- endif %}
{%- endif %}
  list(x = x, y = y)
}

build_model <- function() {
{%- if task == "metric" %}
  # A siamese model: one shared embedding for both halves of each row, output their distance.
  inputs <- keras$Input(shape = list(2L * FEATURES))
  embed <- keras$layers$Dense(8L)
  halves <- keras$ops$split(inputs, 2L, axis = -1L)
  difference <- keras$ops$subtract(embed(halves[[1]]), embed(halves[[2]]))
  squared <- keras$ops$sum(keras$ops$square(difference), axis = -1L, keepdims = TRUE)
  keras$Model(inputs, keras$ops$sqrt(keras$ops$add(squared, 1e-9)))
{%- else %}
  keras$Sequential(list(
    keras$Input(shape = list(FEATURES)),
    keras$layers$Dense(32L, activation = "relu"),
    keras$layers$Dense(OUTPUTS, activation = "{{ loss.head_activation }}")
  ))
{%- endif %}
}

# The loss factory: from the R files beside this script, else from the installed package.
loss_factory <- function() {
  file <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  here <- if (length(file) == 1L) dirname(normalizePath(file)) else getwd()
  sources <- sort(list.files(file.path(here, "R"), pattern = "[.][Rr]$", full.names = TRUE))
  if (length(sources) > 0L && file.exists(file.path(here, "DESCRIPTION"))) {
    package <- new.env()
    for (path in sources) sys.source(path, envir = package)
    package$.onLoad(dirname(here), "{{ cookiecutter.r_package }}")
    return(package${{ cookiecutter.r_function }})
  }
  if (requireNamespace("{{ cookiecutter.r_package }}", quietly = TRUE)) {
    return(getExportedValue("{{ cookiecutter.r_package }}", "{{ cookiecutter.r_function }}"))
  }
  stop("run train.R from the {{ cookiecutter.r_package }} source directory, or install the package first", call. = FALSE)
}

# Fit the model and return the training loss of each epoch.
train <- function(epochs = 10L, seed = 0L, loss = NULL, verbose = 0L) {
  if (is.null(loss)) {
    loss <- do.call(loss_factory(), PARAMS)
  }
  keras$utils$set_random_seed(as.integer(seed))
  data <- make_data(seed = seed)
  model <- build_model()
  model$compile(optimizer = keras$optimizers$Adam(learning_rate = 0.01), loss = loss)
  history <- model$fit(data$x, data$y, epochs = as.integer(epochs), batch_size = 64L,
                       verbose = as.integer(verbose))
  unlist(history$history$loss)
}

main <- function(args = commandArgs(trailingOnly = TRUE)) {
  option <- function(name, default) {
    at <- match(name, args)
    if (is.na(at)) default else as.integer(args[[at + 1L]])
  }
  losses <- train(epochs = option("--epochs", 10L), seed = option("--seed", 0L))
  for (epoch in seq_along(losses)) {
    cat(sprintf("epoch %3d  loss %.6f\n", epoch, losses[[epoch]]))
  }
  last <- losses[[length(losses)]]
  if (!is.finite(last) || last >= losses[[1]]) {
    cat("the loss did not fall\n")
    quit(status = 1L)
  }
  cat(sprintf("the loss fell from %.6f to %.6f\n", losses[[1]], last))
}

if (sys.nframe() == 0L) {
  main()
}
