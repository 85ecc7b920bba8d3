"""Frozen copies of code under test, as of a named commit: references that cannot drift."""
