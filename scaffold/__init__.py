"""lossgen: generate tested custom Keras 3 losses (Python and R) from loss specs."""

__version__ = "0.1.0"
