"""`secret()`: every secret setting from NAME or from the file NAME_FILE names, never both."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal.settings.env import secret


@pytest.fixture
def neither(monkeypatch):
    monkeypatch.delenv("BIZI_TEST_SECRET", raising=False)
    monkeypatch.delenv("BIZI_TEST_SECRET_FILE", raising=False)
    return monkeypatch


def test_it_reads_the_variable(neither):
    neither.setenv("BIZI_TEST_SECRET", "s3cret ")
    assert secret("BIZI_TEST_SECRET") == "s3cret "


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("s3cret", "s3cret"),
        ("s3cret\n", "s3cret"),
        ("s3cret\r\n", "s3cret"),
        ("s3cret\n\n", "s3cret\n"),  # one newline only: the rest is the secret's
        (" s3cret \n", " s3cret "),
    ],
)
def test_it_reads_the_file_less_one_trailing_newline(neither, tmp_path, written, read):
    path = tmp_path / "secret"
    path.write_bytes(written.encode())
    neither.setenv("BIZI_TEST_SECRET_FILE", str(path))
    assert secret("BIZI_TEST_SECRET", default="unused") == read


def test_it_refuses_both(neither, tmp_path):
    path = tmp_path / "secret"
    path.write_text("from-the-file\n")
    neither.setenv("BIZI_TEST_SECRET", "from-the-variable")
    neither.setenv("BIZI_TEST_SECRET_FILE", str(path))
    with pytest.raises(
        ImproperlyConfigured, match="BIZI_TEST_SECRET or BIZI_TEST_SECRET_FILE, not both"
    ):
        secret("BIZI_TEST_SECRET", default="")
    with pytest.raises(ImproperlyConfigured, match="not both"):
        secret("BIZI_TEST_SECRET", default="", read_file=False)


def test_neither_gives_the_default_or_says_what_to_set(neither):
    assert secret("BIZI_TEST_SECRET", default="demo") == "demo"
    with pytest.raises(ImproperlyConfigured, match="Set BIZI_TEST_SECRET or BIZI_TEST_SECRET_FILE"):
        secret("BIZI_TEST_SECRET")


def test_an_empty_variable_counts_as_unset(neither, tmp_path):
    path = tmp_path / "secret"
    path.write_text("from-the-file")
    neither.setenv("BIZI_TEST_SECRET", "")
    neither.setenv("BIZI_TEST_SECRET_FILE", str(path))
    assert secret("BIZI_TEST_SECRET") == "from-the-file"


def test_an_unreadable_file_is_named_and_its_content_is_not(neither, tmp_path):
    neither.setenv("BIZI_TEST_SECRET_FILE", str(tmp_path / "absent"))
    with pytest.raises(ImproperlyConfigured, match=r"BIZI_TEST_SECRET_FILE: cannot read .*absent"):
        secret("BIZI_TEST_SECRET", default="demo")
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xffs3cret")
    neither.setenv("BIZI_TEST_SECRET_FILE", str(binary))
    with pytest.raises(ImproperlyConfigured, match="is not UTF-8 text") as refused:
        secret("BIZI_TEST_SECRET")
    assert "s3cret" not in str(refused.value)


def test_read_file_false_leaves_the_file_to_the_code_that_uses_the_key(neither, tmp_path):
    # LEDGER_SIGNING_KEY_FILE and STORAGE_MASTER_KEY_FILE may name a file still to be created.
    neither.setenv("BIZI_TEST_SECRET_FILE", str(tmp_path / "made-on-first-use"))
    assert secret("BIZI_TEST_SECRET", default="", read_file=False) == ""
