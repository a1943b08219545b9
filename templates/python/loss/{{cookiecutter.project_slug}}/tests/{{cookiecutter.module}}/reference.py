"""NumPy float64 reference for the loss, emitted by lossgen from the same spec as the Keras code.

It shares no code with the Keras implementation, so agreement between the two is evidence.
"""

import numpy as np

{{ cookiecutter._loss.numpy_helpers }}


def reference_loss(y_true, y_pred{% for p in cookiecutter._loss.params %}, {{ p.name }}={{ p.python }}{% endfor %}):
    """Per-sample loss in float64."""
{{ cookiecutter._loss.numpy_body | indent(4, first=True) }}
