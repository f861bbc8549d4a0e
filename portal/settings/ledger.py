"""The ledger (ledger/): the log's name and signing key, block sealing, verification, and the
witnesses that cosign its checkpoints.

Production demands a signing key and allows only https witnesses on public addresses
(production.py).
"""

from portal.settings.env import VAR_DIR, env, secret

# The checkpoint origin: a name for this log that no other log uses (C2SP tlog-checkpoint).
LEDGER_ORIGIN = env.str("LEDGER_ORIGIN", default="bizi.invalid/ledger")
# The log's Ed25519 key as a note signer key (PRIVATE+KEY+origin+id+key), or a file holding one.
# The file is read where the key is used (ledger/keys.py); outside production a missing key
# file is created there on first use.
LEDGER_SIGNING_KEY = secret("LEDGER_SIGNING_KEY", default="", read_file=False)
LEDGER_SIGNING_KEY_FILE = env.str(
    "LEDGER_SIGNING_KEY_FILE", default=str(VAR_DIR / "ledger-signing.key")
)
LEDGER_APPEND_BATCH = env.int("LEDGER_APPEND_BATCH", default=2000)
LEDGER_BLOCK_MAX_ENTRIES = env.int("LEDGER_BLOCK_MAX_ENTRIES", default=1000)
LEDGER_BLOCK_MAX_SECONDS = env.float("LEDGER_BLOCK_MAX_SECONDS", default=10.0)
# How often beat re-sends events still in the outbox (recorded while Redis or the worker was down).
LEDGER_RESEND_SECONDS = env.float("LEDGER_RESEND_SECONDS", default=10.0)
LEDGER_VERIFY_SECONDS = env.float("LEDGER_VERIFY_SECONDS", default=3600.0)
# How many institutions' witnesses must cosign a checkpoint (the tlog-policy quorum).
LEDGER_WITNESS_QUORUM = env.int("LEDGER_WITNESS_QUORUM", default=1)
# Witnesses (ledger/witness_client.py): plain http only outside production; loopback, private,
# link-local and reserved addresses only where listed (CIDRs; the dev machine's own witness).
LEDGER_WITNESS_ALLOW_HTTP = env.bool("LEDGER_WITNESS_ALLOW_HTTP", default=True)
LEDGER_WITNESS_ALLOWED_NETWORKS = env.list(
    "LEDGER_WITNESS_ALLOWED_NETWORKS", default=["127.0.0.1/32", "::1/128"]
)
LEDGER_WITNESS_CONNECT_TIMEOUT_SECONDS = env.float(
    "LEDGER_WITNESS_CONNECT_TIMEOUT_SECONDS", default=3.0
)
# The read timeout of one witness call.
LEDGER_WITNESS_TIMEOUT_SECONDS = env.float("LEDGER_WITNESS_TIMEOUT_SECONDS", default=10.0)
# All witnesses of a block are asked at once (this many threads), and all within this deadline.
LEDGER_WITNESS_THREADS = env.int("LEDGER_WITNESS_THREADS", default=8)
LEDGER_WITNESS_DEADLINE_SECONDS = env.float("LEDGER_WITNESS_DEADLINE_SECONDS", default=15.0)
# A witness that failed waits this long before it is asked again, doubled per further failure.
LEDGER_WITNESS_BACKOFF_SECONDS = env.float("LEDGER_WITNESS_BACKOFF_SECONDS", default=30.0)
LEDGER_WITNESS_BACKOFF_MAX_SECONDS = env.float("LEDGER_WITNESS_BACKOFF_MAX_SECONDS", default=3600.0)
