"""The append-only signed ledger: an RFC 9162 transparency log grouped into signed blocks."""
