"""Marketing automation for Saleor shops, as a Saleor App built on Django."""

__version__ = "0.1.0"
