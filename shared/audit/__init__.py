"""The auditor's toolkit (``rehapro-audit``): verify the topics alone (hash chains, versions,
published schemas, signed checkpoints), rebuild a projection from them, diff it with a live one.
The services' side of it is ``checkpoints``: the signed checkpoints they append. docs/AUDIT.md."""
