"""Programs member institutions run on their own machines: the verifier and the witness."""
