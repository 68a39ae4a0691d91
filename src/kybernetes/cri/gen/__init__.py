"""Generated CRI v1 modules (see ../regen.py); do not edit."""
