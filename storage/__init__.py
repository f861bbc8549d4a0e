"""Content addressing, encryption at rest, the Zigzag erasure code and storage nodes."""
