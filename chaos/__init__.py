"""Fault injection on the real local stack under a steady mixed load (``make chaos``)."""
