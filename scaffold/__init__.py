"""lossgen: generate tested custom Keras 3 losses (Python and R) from loss specs."""

__version__ = "0.5.0"
# The oldest Python lossgen and the projects it generates support: the one source of the Python
# requirement of the generated pyproject.toml and R DESCRIPTION (pyproject.toml says the same for
# lossgen itself; tests/test_project_files.py checks they agree).
PYTHON_REQUIRES = "3.11"
