{%- set project = cookiecutter._project -%}
{%- set losses = project.losses -%}
{%- set tasks = losses | map(attribute="task") | unique | list -%}
# Train a small Keras model with one of this package's losses on synthetic
# data of its task.
#
#   Rscript train.R [--loss NAME] [--epochs 10] [--seed 0] [--plot loss.png]
#
# Prints the training loss per epoch; it should fall (the script exits with
# status 1 if it does not). --plot draws the loss per epoch into a PNG file.
# It uses the package's R files beside this script, or the installed package
# when run from elsewhere, and Python Keras through reticulate: set
# RETICULATE_PYTHON to the interpreter that has keras and tensorflow.

keras <- reticulate::import("keras", delay_load = TRUE)

# Each loss: its function, the parameters the package was generated with, its
# task, and the model head it trains.
losses <- list(
{{ project.r_train_losses }}
)
default_loss <- "{{ losses[0].module }}"
n_features <- 8L

# Inputs and targets of the task, with a learnable relation between them.
make_data <- function(task, n_outputs, samples = 512L, seed = 0L) {
  set.seed(seed)
{%- if "metric" in tasks %}
  if (task == "metric") {
    # Pairs of points; label 1 when both come from the same cluster.
    centers <- matrix(rnorm(4L * n_features, sd = 3), 4L, n_features)
    left <- sample.int(4L, samples, replace = TRUE)
    other <- sample.int(4L, samples, replace = TRUE)
    right <- ifelse(runif(samples) < 0.5, left, other)
    noise <- function() {
      matrix(rnorm(samples * n_features, sd = 0.5), samples, n_features)
    }
    x <- cbind(centers[left, ] + noise(), centers[right, ] + noise())
    return(list(x = x, y = matrix(as.numeric(left == right), ncol = 1L)))
  }
{%- endif %}
{%- if "embedding" in tasks %}
  if (task == "embedding") {
    # Points around 4 cluster centres; the label is the cluster.
    centers <- matrix(rnorm(4L * n_features, sd = 3), 4L, n_features)
    labels <- sample.int(4L, samples, replace = TRUE)
    noise <- matrix(rnorm(samples * n_features), samples, n_features)
    return(list(x = centers[labels, ] + noise, y = array(labels - 1L)))
  }
{%- endif %}
{%- if tasks | reject("in", ["metric", "embedding"]) | list %}
  x <- matrix(rnorm(samples * n_features), samples, n_features)
  weights <- matrix(rnorm(n_features * n_outputs), n_features, n_outputs)
  scores <- x %*% weights
  y <- switch(
    task,
{%- for task in tasks if task not in ("metric", "embedding") %}
{%- if task in ("regression", "multi_output") %}
    {{ task }} = scores +
      matrix(rnorm(length(scores), sd = 0.1), nrow(scores)),
{%- elif task == "positive_regression" %}
    positive_regression = matrix(
      as.numeric(rpois(length(scores), exp(0.3 * scores))), nrow(scores)
    ),
{%- elif task == "binary" %}
    binary = (scores > 0) * 1,
{%- elif task == "categorical" %}
    categorical = diag(n_outputs)[
      max.col(scores, ties.method = "first"), , drop = FALSE
    ],
{%- elif task == "sparse_categorical" %}
    # Integer labels 0 .. n_outputs - 1, shape (samples); array() so that
    # Python gets a NumPy array, not a list.
    sparse_categorical = array(max.col(scores, ties.method = "first") - 1L),
{%- elif task == "segmentation" %}
    # One-hot masks of 4 pixels: each pixel of the class its scores favour.
    segmentation = local({
      pixel_weights <- matrix(rnorm(n_features * 4L * n_outputs), n_features)
      pixel_scores <- array(x %*% pixel_weights, c(samples, 4L, n_outputs))
      classes <- apply(pixel_scores, c(1L, 2L), which.max)
      masks <- array(0, c(samples, 4L, n_outputs))
      index <- cbind(
        rep(seq_len(samples), 4L), rep(1:4, each = samples), as.vector(classes)
      )
      masks[index] <- 1
      masks
    }),
{%- elif task == "boxes" %}
    # A box around the origin in every box_format: two small negative
    # numbers, then two near 2 (corners, or a corner or centre and a size).
    boxes = cbind(
      -0.1 - 0.4 * stats::plogis(scores[, 1:2]),
      1.5 + stats::plogis(scores[, 3:4])
    ),
{%- elif task == "gaussian" %}
    # One target per sample, with noise whose variance the model can learn.
    gaussian = scores[, 1, drop = FALSE] +
      matrix(rnorm(samples, sd = 0.3), ncol = 1L),
{%- endif %}
{%- endfor %}
    stop("no synthetic data for the ", task, " task", call. = FALSE)
  )
  list(x = x, y = y)
{%- endif %}
}

build_model <- function(task, n_outputs, activation) {
{%- if "metric" in tasks %}
  if (task == "metric") {
    # A siamese model: one shared embedding for both halves of each row,
    # output their distance.
    inputs <- keras$Input(shape = list(2L * n_features))
    embed <- keras$layers$Dense(8L)
    halves <- keras$ops$split(inputs, 2L, axis = -1L)
    difference <- keras$ops$subtract(embed(halves[[1]]), embed(halves[[2]]))
    squared <- keras$ops$sum(
      keras$ops$square(difference),
      axis = -1L,
      keepdims = TRUE
    )
    return(keras$Model(inputs, keras$ops$sqrt(keras$ops$add(squared, 1e-9))))
  }
{%- endif %}
{%- if "segmentation" in tasks %}
  if (task == "segmentation") {
    # A mask of 4 pixels, the activation over each pixel's classes.
    return(keras$Sequential(list(
      keras$Input(shape = list(n_features)),
      keras$layers$Dense(32L, activation = "relu"),
      keras$layers$Dense(4L * n_outputs),
      keras$layers$Reshape(list(4L, n_outputs)),
      keras$layers$Activation(activation)
    )))
  }
{%- endif %}
  keras$Sequential(list(
    keras$Input(shape = list(n_features)),
    keras$layers$Dense(32L, activation = "relu"),
    keras$layers$Dense(n_outputs, activation = activation)
  ))
}

# The loss factory: from the R files beside this script, else from the
# installed package.
loss_factory <- function(name) {
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
    return(get(name, envir = package))
  }
  if (requireNamespace("{{ cookiecutter.r_package }}", quietly = TRUE)) {
    return(getExportedValue("{{ cookiecutter.r_package }}", name))
  }
  stop(
    "run train.R from the package's source directory, or install it first",
    call. = FALSE
  )
}

# Fit the model with the named loss and return the training loss of each
# epoch. `loss` replaces the loss function (the tests pass the package's).
train <- function(name = default_loss, epochs = 10L, seed = 0L, loss = NULL,
                  verbose = 0L) {
  entry <- losses[[name]]
  if (is.null(loss)) {
    loss <- do.call(loss_factory(entry$loss), entry$params)
  }
  keras$utils$set_random_seed(as.integer(seed))
  data <- make_data(entry$task, entry$outputs, seed = seed)
  model <- build_model(entry$task, entry$outputs, entry$activation)
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
  "usage: Rscript train.R [--loss NAME] [--epochs N] [--seed N]",
  "                       [--plot FILE.png] [--help]",
  "",
  "Train a small model with a loss of the package on synthetic data and print",
  "the training loss per epoch; exit status 1 if it did not fall.",
  "",
  "  --loss NAME      the loss to train with, one of:",
  paste0("                   ", names(losses), collapse = "\n"),
  paste0("                   (default ", default_loss, ")"),
  "  --epochs N       epochs to train (default 10)",
  "  --seed N         seed of the data and the model's weights (default 0)",
  "  --plot FILE.png  draw the loss per epoch into FILE.png",
  "  --help           show this message",
  sep = "\n"
)

# The command line as a list (loss, epochs, seed, plot, help); an error says
# what is wrong with it. --name value and --name=value are both accepted.
parse_args <- function(args) {
  options <- list(
    loss = default_loss, epochs = 10L, seed = 0L, plot = NULL, help = FALSE
  )
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
    if (!(name %in% c("--loss", "--epochs", "--seed", "--plot"))) {
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
  if (name == "--loss") {
    if (!(value %in% names(losses))) {
      stop("--loss must be one of ", paste(names(losses), collapse = ", "),
           ", got ", value, call. = FALSE)
    }
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

plot_losses <- function(values, path, name) {
  grDevices::png(path, width = 800, height = 500, res = 100)
  on.exit(grDevices::dev.off())
  graphics::plot(
    seq_along(values), values,
    type = "b", pch = 19, xlab = "epoch", ylab = "training loss",
    main = paste0(losses[[name]]$loss, "() on synthetic data")
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
  values <- train(options$loss, epochs = options$epochs, seed = options$seed)
  for (epoch in seq_along(values)) {
    cat(sprintf("epoch %3d  loss %.6f\n", epoch, values[[epoch]]))
  }
  if (!is.null(options$plot)) {
    plot_losses(values, options$plot, options$loss)
    cat("wrote", options$plot, "\n")
  }
  last <- values[[length(values)]]
  if (!is.finite(last) || last >= values[[1]]) {
    cat("the loss did not fall\n")
    quit(status = 1L)
  }
  cat(sprintf("the loss fell from %.6f to %.6f\n", values[[1]], last))
}

if (sys.nframe() == 0L) {
  main()
}
