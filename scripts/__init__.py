"""Command-line entry points (``atlas``): thin wrappers over ``geo`` and ``storage``."""
