"""seccenter: the toolkit of a municipal Cyber-Security-Centre."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("seccenter")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
