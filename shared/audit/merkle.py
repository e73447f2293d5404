"""The Merkle root a checkpoint signs: over the hashes of the events it covers, in order.

Leaves and inner nodes are hashed with different prefixes (RFC 6962), so a leaf can never pass
for an inner node; an odd node is carried up unchanged.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

EMPTY_ROOT = hashlib.sha256(b"").hexdigest()


def _leaf(digest: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + digest).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def merkle_root(hashes: Sequence[str]) -> str:
    """Root (hex) over hex digests; ``EMPTY_ROOT`` for none."""
    if not hashes:
        return EMPTY_ROOT
    level = [_leaf(bytes.fromhex(h)) for h in hashes]
    while len(level) > 1:
        pairs = [_node(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            pairs.append(level[-1])
        level = pairs
    return level[0].hex()
