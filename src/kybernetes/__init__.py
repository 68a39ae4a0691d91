"""kybernetes: Kubernetes, written in Python.

The package map is in DESIGN.md; the dependency direction between
subpackages is enforced by the import-linter contracts in pyproject.toml.
"""

__version__ = "0.1.0"
