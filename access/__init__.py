"""Access to data: requests, moderation, decisions, grants, downloads, revocation and expiry."""
