"""Test harness: real servers on loopback for tests; object builders. Imported by tests only."""
