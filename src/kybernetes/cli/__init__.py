"""The `kyb` command: wires components together."""
