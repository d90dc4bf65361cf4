"""The SQLite store: every query of the project lives in this package."""
