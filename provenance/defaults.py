"""Default places, kept apart so the CLI can name them without importing the pipeline."""

from pathlib import Path

#: The database a run writes (``--db``).
DEFAULT_DB = Path("db/provenance.db")
#: Where Markdown reports go (``--reports``).
DEFAULT_REPORTS = Path("reports")
#: What ``provenance audit`` reads with no PATH: the embedded sample articles.
DEFAULT_INPUT = Path("seeds")
