"""provenance: audit where an article's claims come from."""

__version__ = "0.1.0"
