"""Collectors: one module per input format, each turning a byte stream into Events."""
