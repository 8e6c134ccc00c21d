"""docloop: turn recurring community questions into documentation fixes."""

__version__ = "0.1.0"
__all__ = ["__version__"]
