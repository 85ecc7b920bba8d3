"""provenance: audit where an article's claims come from."""

__version__ = "0.2.0"
