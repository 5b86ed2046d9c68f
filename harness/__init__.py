"""harness: grade three-layer-MLP-from-scratch submissions against a NumPy reference."""

__version__ = "0.2.0"
