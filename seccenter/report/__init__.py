"""Rendering: the terminal (rich) and, later, documents."""
