"""The package's version, on the ground floor: modules that record it (`_provenance`, `runs.store`)
read it here instead of importing the whole package."""
from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("scratch-rnn")     # pyproject.toml is the one place it is written
except _metadata.PackageNotFoundError:                  # imported from a source tree that was never installed
    __version__ = "0+unknown"
