"""Fixtures for storage's Django tests: nodes in a temporary folder and a fixed master key.

Stripes are small (helpers.STRIPE bytes) so that objects of several stripes stay small and
fast; the code paths are the ones the default 10 MiB stripes take.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from storage import services
from storage.models import StorageNode
from storage.tests.factories import StorageNodeFactory
from storage.tests.helpers import STRIPE

TEST_MASTER_KEY = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"


@pytest.fixture(autouse=True)
def storage_settings(settings, tmp_path: Path):
    settings.STORAGE_NODE_ROOT = str(tmp_path / "default-nodes")
    settings.STORAGE_MASTER_KEY = TEST_MASTER_KEY
    settings.STORAGE_MASTER_KEY_FILE = str(tmp_path / "master.key")
    settings.STORAGE_OLD_MASTER_KEYS = []
    settings.STORAGE_NEW_MASTER_KEY = ""
    settings.STORAGE_STRIPE_BYTES = STRIPE
    settings.STORAGE_K = 4
    settings.STORAGE_M = 2
    settings.STORAGE_FSYNC = False  # a test's temporary folder needs no trip to the disk
    services._checked.clear()  # a node's answer cached by an earlier test does not apply here
    return settings


@pytest.fixture
def nodes(db: None, tmp_path: Path) -> list[StorageNode]:
    """Eight local nodes: k+m = 6 for a stripe, and two spare for repairs."""
    return StorageNodeFactory.create_batch(8, base=tmp_path / "nodes")
