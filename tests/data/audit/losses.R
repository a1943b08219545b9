# Hand-written R losses for `lossgen audit` (tests/test_audit.py): each defect and its fix, in
# plain reticulate (no keras3 package), as an R user writes them.
keras <- reticulate::import("keras")
ops <- keras$ops

# In float16 a squared error of 300 is inf: the fixed losses compute half inputs in float32.
at_least_float32 <- function(y_pred) {
  y_pred <- ops$convert_to_tensor(y_pred)
  if (keras$backend$standardize_dtype(y_pred$dtype) %in% c("float16", "bfloat16")) {
    y_pred <- ops$cast(y_pred, "float32")
  }
  y_pred
}

# Defect: the mean over everything, one scalar for the batch (sample_weight cannot weight samples).
scalar_mse <- function(y_true, y_pred) {
  y_pred <- at_least_float32(y_pred)
  y_true <- ops$cast(y_true, y_pred$dtype)
  ops$mean(ops$square(ops$subtract(y_pred, y_true)))
}

# Fixed: the mean over the last axis only, one value per sample.
mse <- function(y_true, y_pred) {
  y_pred <- at_least_float32(y_pred)
  y_true <- ops$cast(y_true, y_pred$dtype)
  ops$mean(ops$square(ops$subtract(y_pred, y_true)), axis = -1L)
}

huber_call <- function(self, y_true, y_pred) {
  y_pred <- at_least_float32(y_pred)
  y_true <- ops$cast(y_true, y_pred$dtype)
  error <- ops$abs(ops$subtract(y_pred, y_true))
  quadratic <- ops$minimum(error, self$delta)
  linear <- ops$subtract(error, quadratic)
  ops$mean(
    ops$add(ops$multiply(0.5, ops$square(quadratic)), ops$multiply(self$delta, linear)),
    axis = -1L
  )
}

# Defect: a Loss subclass built in R whose get_config misses delta (it reloads as 1.0).
HuberNoConfig <- reticulate::PyClass("HuberNoConfig", inherit = keras$losses$Loss, defs = list(
  `__init__` = function(self, delta = 1.0, ...) {
    keras$losses$Loss$`__init__`(self, ...)
    self$delta <- delta
    NULL
  },
  call = huber_call
))

# Fixed: get_config holds delta.
Huber <- reticulate::PyClass("Huber", inherit = keras$losses$Loss, defs = list(
  `__init__` = function(self, delta = 1.0, ...) {
    keras$losses$Loss$`__init__`(self, ...)
    self$delta <- delta
    NULL
  },
  call = huber_call,
  get_config = function(self) {
    config <- keras$losses$Loss$get_config(self)
    config$delta <- self$delta
    config
  }
))
