"""Benchmark harness: throughput, end-to-end latency, replay rate and memory of the real
services on the real local stack, side by side with the stack's own limits and a peer library.

``python -m bench --help``; ``make bench`` runs it with sizes that fit a few minutes.
"""
