{%- set loss = cookiecutter._loss -%}
{%- set task = cookiecutter.task -%}
# Train a small Keras model with the loss
# {{ cookiecutter.r_function }}() on synthetic {{ task }} data.
#
#   Rscript train.R [--epochs 10] [--seed 0] [--plot loss.png] [--help]
#
# Prints the training loss per epoch; it should fall (the script exits with
# status 1 if it does not). --plot draws the loss per epoch into a PNG file.
# It uses the package's R files beside this script, or the installed package
# when run from elsewhere, and Python Keras through reticulate: set
# RETICULATE_PYTHON to the interpreter that has keras and tensorflow.

keras <- reticulate::import("keras", delay_load = TRUE)

{{ loss.r_params_list }}
n_features <- 8L
n_outputs <- {{ loss.width }}L

# Inputs and targets with a learnable relation between them.
make_data <- function(samples = 512L, seed = 0L) {
  set.seed(seed)
{%- if task == "metric" %}
  # Pairs of points; label 1 when both come from the same cluster.
  centers <- matrix(rnorm(4L * n_features, sd = 3), 4L, n_features)
  left <- sample.int(4L, samples, replace = TRUE)
  other <- sample.int(4L, samples, replace = TRUE)
  right <- ifelse(runif(samples) < 0.5, left, other)
  noise <- function() {
    matrix(rnorm(samples * n_features, sd = 0.5), samples, n_features)
  }
  x <- cbind(centers[left, ] + noise(), centers[right, ] + noise())
  y <- matrix(as.numeric(left == right), ncol = 1L)
{%- else %}
  x <- matrix(rnorm(samples * n_features), samples, n_features)
  weights <- matrix(rnorm(n_features * n_outputs), n_features, n_outputs)
  scores <- x %*% weights
{%- if task in ("regression", "multi_output") %}
  y <- scores + matrix(rnorm(length(scores), sd = 0.1), nrow(scores))
{%- elif task == "positive_regression" %}
  counts <- rpois(length(scores), exp(0.3 * scores))
  y <- matrix(as.numeric(counts), nrow(scores))
{%- elif task == "binary" %}
  y <- (scores > 0) * 1
{%- elif task == "categorical" %}
  y <- diag(n_outputs)[max.col(scores, ties.method = "first"), , drop = FALSE]
{%- elif task == "sparse_categorical" %}
  # Integer labels 0 .. n_outputs - 1, shape (samples); array() so that Python
  # gets a NumPy array, not a list.
  y <- array(max.col(scores, ties.method = "first") - 1L)
{%- endif %}
{%- endif %}
  list(x = x, y = y)
}

build_model <- function() {
{%- if task == "metric" %}
  # A siamese model: one shared embedding for both halves of each row, output
  # their distance.
  inputs <- keras$Input(shape = list(2L * n_features))
  embed <- keras$layers$Dense(8L)
  halves <- keras$ops$split(inputs, 2L, axis = -1L)
  difference <- keras$ops$subtract(embed(halves[[1]]), embed(halves[[2]]))
  squared <- keras$ops$sum(
    keras$ops$square(difference),
    axis = -1L,
    keepdims = TRUE
  )
  keras$Model(inputs, keras$ops$sqrt(keras$ops$add(squared, 1e-9)))
{%- else %}
  keras$Sequential(list(
    keras$Input(shape = list(n_features)),
    keras$layers$Dense(32L, activation = "relu"),
    keras$layers$Dense(n_outputs, activation = "{{ loss.head_activation }}")
  ))
{%- endif %}
}

# The loss factory: from the R files beside this script, else from the
# installed package.
loss_factory <- function() {
  file <- grep("^--file=", commandArgs(FALSE), value = TRUE)
  file <- sub("^--file=", "", file)
  here <- if (length(file) == 1L) dirname(normalizePath(file)) else getwd()
  sources <- list.files(
    file.path(here, "R"),
    pattern = "[.][Rr]$",
    full.names = TRUE
  )
  sources <- sort(sources)
  if (length(sources) > 0L && file.exists(file.path(here, "DESCRIPTION"))) {
    package <- new.env()
    for (path in sources) sys.source(path, envir = package)
    package$.onLoad(dirname(here), "{{ cookiecutter.r_package }}")
    return(package${{ cookiecutter.r_function }})
  }
  if (requireNamespace("{{ cookiecutter.r_package }}", quietly = TRUE)) {
    return(getExportedValue(
      "{{ cookiecutter.r_package }}",
      "{{ cookiecutter.r_function }}"
    ))
  }
  stop(
    "run train.R from the package's source directory, or install it first",
    call. = FALSE
  )
}

# Fit the model and return the training loss of each epoch.
train <- function(epochs = 10L, seed = 0L, loss = NULL, verbose = 0L) {
  if (is.null(loss)) {
    loss <- do.call(loss_factory(), loss_params)
  }
  keras$utils$set_random_seed(as.integer(seed))
  data <- make_data(seed = seed)
  model <- build_model()
  model$compile(
    optimizer = keras$optimizers$Adam(learning_rate = 0.01),
    loss = loss
  )
  history <- model$fit(
    data$x, data$y,
    epochs = as.integer(epochs),
    batch_size = 64L,
    verbose = as.integer(verbose)
  )
  unlist(history$history$loss)
}

usage <- paste(
  "usage: Rscript train.R [--epochs N] [--seed N] [--plot FILE.png] [--help]",
  "",
  "Train a small model with the loss on synthetic data and print the training",
  "loss per epoch; exit status 1 if it did not fall.",
  "",
  "  --epochs N       epochs to train (default 10)",
  "  --seed N         seed of the data and the model's weights (default 0)",
  "  --plot FILE.png  draw the loss per epoch into FILE.png",
  "  --help           show this message",
  sep = "\n"
)

# The command line as a list (epochs, seed, plot, help); an error says what is
# wrong with it. --name value and --name=value are both accepted.
parse_args <- function(args) {
  options <- list(epochs = 10L, seed = 0L, plot = NULL, help = FALSE)
  args <- unlist(lapply(args, function(arg) {
    if (!grepl("^--[a-z]+=", arg)) {
      return(arg)
    }
    c(sub("=.*$", "", arg), sub("^[^=]*=", "", arg))
  }))
  i <- 1L
  while (i <= length(args)) {
    name <- args[[i]]
    if (name %in% c("--help", "-h")) {
      options$help <- TRUE
      i <- i + 1L
      next
    }
    if (!(name %in% c("--epochs", "--seed", "--plot"))) {
      stop("unknown argument: ", name, call. = FALSE)
    }
    if (i == length(args)) {
      stop(name, " needs a value", call. = FALSE)
    }
    options[[sub("^--", "", name)]] <- option_value(name, args[[i + 1L]])
    i <- i + 2L
  }
  options
}

option_value <- function(name, value) {
  if (name == "--plot") {
    return(value)
  }
  if (!grepl("^[0-9]+$", value) || (name == "--epochs" && value == "0")) {
    stop(name, " needs a whole number", if (name == "--epochs") " >= 1",
         ", got ", value, call. = FALSE)
  }
  as.integer(value)
}

# Before training: a plot that cannot be written should not cost a run.
check_writable <- function(path) {
  directory <- dirname(path)
  if (!capabilities("png")) {
    stop("cannot write ", path, ": this R has no png() device", call. = FALSE)
  }
  if (!dir.exists(directory) || file.access(directory, 2L) != 0L ||
        (file.exists(path) && file.access(path, 2L) != 0L)) {
    stop("cannot write ", path, ": no such directory, or not writable",
         call. = FALSE)
  }
  invisible(path)
}

plot_losses <- function(losses, path) {
  grDevices::png(path, width = 800, height = 500, res = 100)
  on.exit(grDevices::dev.off())
  graphics::plot(
    seq_along(losses), losses,
    type = "b", pch = 19, xlab = "epoch", ylab = "training loss",
    main = "{{ cookiecutter.r_function }}() on synthetic data"
  )
}

main <- function(args = commandArgs(trailingOnly = TRUE)) {
  options <- tryCatch(parse_args(args), error = function(e) {
    cat(conditionMessage(e), "\n", usage, "\n", sep = "", file = stderr())
    quit(status = 2L)
  })
  if (options$help) {
    cat(usage, "\n", sep = "")
    return(invisible(NULL))
  }
  if (!is.null(options$plot)) {
    check_writable(options$plot)
  }
  losses <- train(epochs = options$epochs, seed = options$seed)
  for (epoch in seq_along(losses)) {
    cat(sprintf("epoch %3d  loss %.6f\n", epoch, losses[[epoch]]))
  }
  if (!is.null(options$plot)) {
    plot_losses(losses, options$plot)
    cat("wrote", options$plot, "\n")
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
