# Python Keras, imported when the package loads. delay_load: Python starts on first use, so loading
# the package (and R CMD check) does not need Python until a loss is actually computed.
keras <- NULL

.onLoad <- function(libname, pkgname) {
  keras <<- reticulate::import("keras", delay_load = TRUE)
}
