"""The log's signing key: from LEDGER_SIGNING_KEY, or the file LEDGER_SIGNING_KEY_FILE."""

import functools
import os
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from ledger.notes import Signer, Verifier, generate_signer, parse_signer_key


@functools.cache
def log_signer() -> Signer:
    """The Ed25519 signer of this log's checkpoints; its name is the checkpoint origin."""
    text = settings.LEDGER_SIGNING_KEY.strip()
    if not text:
        path = Path(settings.LEDGER_SIGNING_KEY_FILE)
        if not path.exists():
            if settings.BIZI_PRODUCTION:
                raise ImproperlyConfigured(f"The ledger signing key file {path} does not exist.")
            write_new_key(path, settings.LEDGER_ORIGIN)
        text = path.read_text().strip()
    signer = parse_signer_key(text)
    if signer.name != settings.LEDGER_ORIGIN:
        raise ImproperlyConfigured(
            f"The ledger key is for “{signer.name}” "
            f"but LEDGER_ORIGIN is “{settings.LEDGER_ORIGIN}”."
        )
    return signer


def log_verifier() -> Verifier:
    return log_signer().verifier()


def write_new_key(path: Path, origin: str) -> Signer:
    """Create a key file readable by its owner only; never overwrite one."""
    signer = generate_signer(origin)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(signer.to_skey() + "\n")
    return signer
