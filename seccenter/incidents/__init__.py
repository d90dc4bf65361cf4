"""Incident cases, their timeline and the hash-chained audit log of every write."""
