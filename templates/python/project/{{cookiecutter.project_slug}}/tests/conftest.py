import keras
import pytest

if keras.backend.backend() == "jax":
    import jax

    # The value and gradient checks run in float64, which JAX computes only with x64 enabled.
    jax.config.update("jax_enable_x64", True)


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(1234)
