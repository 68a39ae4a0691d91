"""API types: resource registry, schemas, codecs, defaulting, validation, selectors, patch.

Pure: no I/O.
"""
