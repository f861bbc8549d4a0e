"""Storage (storage/): the master key, the nodes, the erasure code's shape, scrubbing and repair."""

from portal.settings.env import VAR_DIR, env, secret

# The master key wrapping every object's data key: 32 bytes as base64 or 64 hex digits, or a
# file holding one. Outside production a missing file is generated (mode 0600); production
# refuses to store or read without a key (storage/keys.py).
STORAGE_MASTER_KEY = secret("STORAGE_MASTER_KEY", default="", read_file=False)
STORAGE_MASTER_KEY_FILE = env.str(
    "STORAGE_MASTER_KEY_FILE", default=str(VAR_DIR / "storage-master.key")
)
# Keys still accepted for unwrapping while `manage.py storage_rewrap` moves to a new one.
# Comma-separated.
STORAGE_OLD_MASTER_KEYS = env.parse_value(secret("STORAGE_OLD_MASTER_KEYS", default=""), list)
# The new master key for `storage_rewrap` (or pass --new-key-file).
STORAGE_NEW_MASTER_KEY = secret("STORAGE_NEW_MASTER_KEY", default="")
# With no node registered, the first put registers this many local folders under this root.
STORAGE_NODE_ROOT = env.str("STORAGE_NODE_ROOT", default=str(VAR_DIR / "storage-nodes"))
STORAGE_LOCAL_NODES = env.int("STORAGE_LOCAL_NODES", default=8)
# The default code: k data + m parity shards per stripe, each shard on its own node.
STORAGE_K = env.int("STORAGE_K", default=4)
STORAGE_M = env.int("STORAGE_M", default=2)
# Encoded bytes per stripe; 0 is the code's own size (10 MiB for k=4), within 1 % of MDS overhead.
STORAGE_STRIPE_BYTES = env.int("STORAGE_STRIPE_BYTES", default=0)
# fsync every shard before a put returns (a put is durable when it says so).
STORAGE_FSYNC = env.bool("STORAGE_FSYNC", default=True)
# Threads per process for hashing, encryption and node I/O (all release the GIL); 0: one a core.
STORAGE_THREADS = env.int("STORAGE_THREADS", default=0)
STORAGE_SCRUB_SECONDS = env.float("STORAGE_SCRUB_SECONDS", default=24 * 3600.0)
# How often beat rebuilds shards recorded bad (repairs whose message was lost, nodes marked down).
STORAGE_REPAIR_SECONDS = env.float("STORAGE_REPAIR_SECONDS", default=300.0)
# Shard files no row points at are deleted by the scrub once this old (puts in flight are younger).
STORAGE_ORPHAN_GRACE_SECONDS = env.float("STORAGE_ORPHAN_GRACE_SECONDS", default=3600.0)
