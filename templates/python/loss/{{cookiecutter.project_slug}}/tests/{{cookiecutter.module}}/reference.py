"""NumPy float64 reference for the loss, emitted by lossgen from the same spec as the Keras code.

It shares no code with the Keras implementation, so agreement between the two is evidence.
"""

import numpy as np

{{ cookiecutter._loss.numpy_helpers }}


def reference_loss(y_true, y_pred{% for p in cookiecutter._loss.params %}, {{ p.name }}={{ p.python }}{% endfor %}):
    """Per-sample loss in float64."""
{{ cookiecutter._loss.numpy_body | indent(4, first=True) }}
{%- for part in cookiecutter._loss.composite_parts %}


def {{ part.function }}(y_true, y_pred{% if part.signature %}, {{ part.signature }}{% endif %}):
    """Per-sample `{{ part.kind }}` loss in float64, from its own spec: term {{ loop.index }} of this composite."""
{{ part.body | indent(4, first=True) }}
{%- endfor %}
