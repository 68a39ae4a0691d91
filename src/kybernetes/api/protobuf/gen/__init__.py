"""Generated protobuf modules (see ../regen.py); do not edit."""
