# Run generated R packages' testthat suites in one R process, so Python and TensorFlow start once.
#
#   RETICULATE_PYTHON=/path/to/python3 Rscript scaffold/run_testthat.R PKGDIR [PKGDIR ...]
#
# Packages are not installed: each one's R/*.R files are sourced into a fresh environment, its
# .onLoad() is called there, and tests/testthat runs in that environment. After each package one
# line reports the counts as JSON after the marker, for scaffold/check.py:
#
#   LOSSGEN-RESULT {"project": "/abs/dir", "exit_code": 0, "unit": "expectations", "tests": N,
#                   "passed": N, "failed": N, "skipped": N, "errors": N}
#
# The counts are testthat's own (its PASS / FAIL / SKIP): expectations, in `tests` test_that()
# blocks. A test that stopped with an error counts one error (code outside test_that() that errors
# counts one too). The exit status is 0 when every package passed, 1 otherwise.

MARKER <- "LOSSGEN-RESULT "

json_line <- function(fields) {
  values <- vapply(names(fields), function(name) {
    value <- fields[[name]]
    text <- if (is.character(value)) {
      encodeString(value, quote = "\"")
    } else {
      format(as.integer(value))
    }
    paste0("\"", name, "\": ", text)
  }, character(1))
  paste0("{", paste(values, collapse = ", "), "}")
}

# The package's code in a new environment, as if loaded: R/*.R in collation (C locale) order, then .onLoad.
load_sources <- function(dir) {
  description <- read.dcf(file.path(dir, "DESCRIPTION"))
  package <- unname(description[1L, "Package"])
  env <- new.env(parent = globalenv())
  assign(".packageName", package, envir = env)
  files <- list.files(file.path(dir, "R"), pattern = "[.][RrSsq]$", full.names = TRUE)
  files <- files[order(basename(files), method = "radix")]
  for (file in files) {
    sys.source(file, envir = env, keep.source = TRUE)
  }
  if (exists(".onLoad", envir = env, inherits = FALSE)) {
    get(".onLoad", envir = env)(dirname(dir), package)
  }
  env
}

NO_RESULTS <- c(tests = 0L, passed = 0L, failed = 0L, skipped = 0L, errors = 0L)

count_results <- function(results) {
  counts <- NO_RESULTS
  outcomes <- c(expectation_success = "passed", expectation_failure = "failed",
                expectation_skip = "skipped", expectation_error = "errors")
  for (test in results) {
    counts[["tests"]] <- counts[["tests"]] + 1L
    for (result in test$results) {
      outcome <- outcomes[class(result)[1L]]
      if (!is.na(outcome)) {
        counts[[outcome]] <- counts[[outcome]] + 1L
      }
    }
  }
  counts
}

run_package <- function(dir) {
  dir <- normalizePath(dir, mustWork = FALSE)
  counts <- NO_RESULTS
  cat(sprintf("\n== %s\n", dir))
  outcome <- tryCatch({
    if (!file.exists(file.path(dir, "DESCRIPTION"))) {
      stop("no DESCRIPTION file: not an R package directory")
    }
    env <- load_sources(dir)
    results <- testthat::test_dir(
      file.path(dir, "tests", "testthat"),
      env = env,
      reporter = testthat::ProgressReporter$new(show_praise = FALSE, update_interval = Inf),
      stop_on_failure = FALSE,
      stop_on_warning = FALSE,
      load_package = "none"
    )
    count_results(results)
  }, error = function(e) {
    cat(sprintf("ERROR: %s\n", conditionMessage(e)))
    counts[["errors"]] <- 1L
    counts
  })
  exit_code <- if (outcome[["failed"]] + outcome[["errors"]] > 0L || outcome[["passed"]] == 0L) 1L else 0L
  cat(sprintf("-> %d expectations passed, %d failed, %d skipped, %d errors in %d tests\n",
              outcome[["passed"]], outcome[["failed"]], outcome[["skipped"]], outcome[["errors"]],
              outcome[["tests"]]))
  fields <- c(list(project = dir, exit_code = exit_code, unit = "expectations"), as.list(outcome))
  cat(MARKER, json_line(fields), "\n", sep = "")
  flush(stdout())
  exit_code
}

main <- function(dirs) {
  if (length(dirs) == 0L) {
    cat("usage: Rscript run_testthat.R PKGDIR [PKGDIR ...]\n", file = stderr())
    quit(status = 2L)
  }
  for (package in c("testthat", "reticulate")) {
    if (!requireNamespace(package, quietly = TRUE)) {
      cat(sprintf("R package %s is not installed\n", package), file = stderr())
      quit(status = 2L)
    }
  }
  # The runner does not go through R CMD check: take the edition from here, not DESCRIPTION lookups.
  Sys.setenv(TESTTHAT_EDITION = "3", NOT_CRAN = "true")
  worst <- 0L
  for (dir in dirs) {
    worst <- max(worst, run_package(dir))
  }
  quit(status = worst)
}

main(commandArgs(trailingOnly = TRUE))
