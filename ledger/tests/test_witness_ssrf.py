"""Issue 14, section 2: a witness URL must not make the worker a request forgery tool.

The portal only talks to witnesses over https (http where LEDGER_WITNESS_ALLOW_HTTP allows
it), to addresses that are public or listed in LEDGER_WITNESS_ALLOWED_NETWORKS, checked when a
steward registers the URL and again, after resolving the host, each time a checkpoint is sent.
It never follows a redirect and never keeps or shows what a witness answered beyond a
classification and a short reason of its own.
"""

import contextlib
import socket
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import reverse
from django.utils import timezone

from ledger.keys import log_verifier
from ledger.models import Cosignature, Witness
from ledger.notes import generate_signer
from ledger.services import append_all, seal_block_if_due
from ledger.witnessing import witness_all, witness_register
from portal.errors import DomainError
from portal.tests.factories import InstitutionFactory
from tools.bizi_witness import WitnessService, make_server

pytestmark = pytest.mark.django_db

FORBIDDEN_URLS = [
    "http://169.254.169.254/",
    "http://169.254.169.254/latest/meta-data",
    "http://127.0.0.1:6379/",
    "http://10.1.2.3/",
    "https://10.255.0.1:8443/",
    "http://[::1]:6379/",
    "http://[::ffff:169.254.169.254]/",
    "http://[::ffff:127.0.0.1]:6379/",
    "http://[fe80::1]/",
    "http://192.168.1.1/",
    "http://172.16.0.1/",
    "http://100.64.0.1/",
    "http://0.0.0.0:6379/",
    "http://224.0.0.1/",
    "http://240.0.0.1/",
    "https://metadata.evil.example/",
    "https://mixed.evil.example/",
]

FAKE_DNS = {
    "metadata.evil.example": ["169.254.169.254"],
    "mixed.evil.example": ["93.184.216.34", "10.0.0.7"],
    "public.witness.example": ["93.184.216.34"],
    "rebind.evil.example": ["10.0.0.9"],
    "no-such-host.invalid": None,
}


@pytest.fixture
def fake_dns(monkeypatch):
    """Names in FAKE_DNS resolve as listed; others go to the real resolver."""
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in FAKE_DNS:
            if FAKE_DNS[host] is None:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            return [
                (
                    socket.AF_INET6 if ":" in a else socket.AF_INET,
                    socket.SOCK_STREAM,
                    6,
                    "",
                    (a, port or 0, 0, 0) if ":" in a else (a, port or 0),
                )
                for a in FAKE_DNS[host]
            ]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return FAKE_DNS


@pytest.fixture
def no_connect(monkeypatch):
    """Every outgoing connection attempt is recorded and fails."""
    attempts: list[object] = []

    def connect(self, address):
        attempts.append(address)
        raise AssertionError(f"connection attempted to {address}")

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect)
    return attempts


@pytest.fixture
def strict(settings):
    """Production's rules: nothing is allowed beyond the public internet."""
    settings.LEDGER_WITNESS_ALLOWED_NETWORKS = []
    return settings


class _Canned(BaseHTTPRequestHandler):
    """Answers every request as the server's `answer(handler)` says, counting hits."""

    def do_POST(self) -> None:
        self.server.hits += 1  # type: ignore[attr-defined]
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.answer(self)  # type: ignore[attr-defined]

    do_GET = do_POST

    def log_message(self, format, *args):
        pass


@pytest.fixture
def canned():
    """canned(answer) → URL of a local server answering every request with answer(handler)."""
    servers, release = [], threading.Event()

    def start(answer):
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Canned)
        server.daemon_threads = True
        server.block_on_close = False
        server.hits = 0
        server.answer = answer
        server.release = release
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server, f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    release.set()
    for server in servers:
        server.shutdown()
        server.server_close()


def _reply(status: int, body: bytes, content_type: str = "text/html", **headers):
    def answer(handler):
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            handler.send_header(name.replace("_", "-"), value)
        handler.end_headers()
        handler.wfile.write(body)

    return answer


def _sleep_then_reply(seconds: float):
    def answer(handler):
        handler.server.release.wait(seconds)
        with contextlib.suppress(OSError):
            _reply(200, b"too late\n")(handler)

    return answer


def _witness(url: str, name: str = "w") -> Witness:
    """A witness row as if registered earlier (or under other rules): no registration check."""
    return Witness.objects.create(
        institution=InstitutionFactory.create(),
        name=name,
        url=url,
        vkey=generate_signer(f"witness.{name}.example", 0x04).verifier().to_vkey(),
    )


def _seal(record_many, n=3, start=0):
    record_many(n, start=start)
    append_all()
    return seal_block_if_due(force=True)


# --- registration ---------------------------------------------------------------------------


@pytest.mark.parametrize("url", FORBIDDEN_URLS)
def test_registering_a_forbidden_address_is_refused_without_connecting(
    url, strict, fake_dns, no_connect
):
    with pytest.raises(DomainError) as refused:
        witness_register(
            institution=InstitutionFactory(),
            name="",
            url=url,
            vkey=generate_signer("witness.x.example", 0x04).verifier().to_vkey(),
        )
    assert refused.value.field == "url"
    assert "not allowed" in refused.value.message
    assert not Witness.objects.exists()
    assert no_connect == []


@pytest.mark.parametrize(
    "url",
    [
        "ftp://public.witness.example/",
        "file:///etc/passwd",
        "gopher://public.witness.example/",
        "https://user:pw@public.witness.example/",
        "https://public.witness.example/?next=x",
        "https://no-such-host.invalid/",
    ],
)
def test_registering_an_odd_url_is_refused(url, fake_dns, no_connect):
    with pytest.raises(DomainError) as refused:
        witness_register(
            institution=InstitutionFactory(),
            name="",
            url=url,
            vkey=generate_signer("witness.x.example", 0x04).verifier().to_vkey(),
        )
    assert refused.value.field == "url"
    assert no_connect == []


def test_plain_http_only_where_the_setting_allows_it(settings, fake_dns, no_connect):
    vkey = generate_signer("witness.x.example", 0x04).verifier().to_vkey()
    settings.LEDGER_WITNESS_ALLOW_HTTP = False
    with pytest.raises(DomainError, match="https"):
        witness_register(
            institution=InstitutionFactory(),
            name="",
            url="http://public.witness.example",
            vkey=vkey,
        )
    witness = witness_register(
        institution=InstitutionFactory(), name="", url="https://public.witness.example/", vkey=vkey
    )
    assert witness.url == "https://public.witness.example"
    settings.LEDGER_WITNESS_ALLOW_HTTP = True
    Witness.objects.all().delete()
    witness_register(
        institution=InstitutionFactory(), name="", url="http://public.witness.example", vkey=vkey
    )
    assert no_connect == []


def test_the_page_explains_a_refused_address(client, cast, strict, no_connect):
    client.force_login(cast.alice.user)
    response = client.post(
        reverse("ledger-witness-new"),
        {
            "institution": cast.acme.pk,
            "url": "http://169.254.169.254/latest/meta-data",
            "vkey": generate_signer("witness.acme.example", 0x04).verifier().to_vkey(),
        },
    )
    assert response.status_code == 400
    assert b"not allowed" in response.content and b"169.254.169.254" in response.content
    assert not Witness.objects.exists()
    assert no_connect == []


def test_the_admin_refuses_a_forbidden_address(strict):
    from django.core.exceptions import ValidationError

    witness = Witness(
        institution=InstitutionFactory(),
        name="w",
        url="http://127.0.0.1:6379",
        vkey=generate_signer("witness.x.example", 0x04).verifier().to_vkey(),
    )
    with pytest.raises(ValidationError) as refused:
        witness.full_clean()
    assert "url" in refused.value.message_dict


# --- send time ------------------------------------------------------------------------------


@pytest.mark.parametrize("url", FORBIDDEN_URLS)
def test_a_forbidden_address_is_refused_at_send_time_without_connecting(
    url, record_many, strict, fake_dns, no_connect
):
    witness = _witness(url.rstrip("/"))
    block = _seal(record_many)
    assert witness_all(height=block.height) == {str(witness): "address_refused"}
    assert no_connect == []
    witness.refresh_from_db()
    assert witness.last_status == "address_refused"
    assert "not allowed" in witness.last_reason


def test_a_name_that_later_resolves_to_a_private_address_is_refused(
    record_many, strict, fake_dns, no_connect, monkeypatch
):
    """Registered while it resolved to a public address; at send time it points inside."""
    monkeypatch.setitem(fake_dns, "rebind.evil.example", ["93.184.216.34"])
    witness = witness_register(
        institution=InstitutionFactory(),
        name="",
        url="https://rebind.evil.example",
        vkey=generate_signer("witness.x.example", 0x04).verifier().to_vkey(),
    )
    monkeypatch.setitem(fake_dns, "rebind.evil.example", ["10.0.0.9"])
    block = _seal(record_many)
    assert witness_all(height=block.height) == {str(witness): "address_refused"}
    assert no_connect == []


def test_the_connection_goes_to_the_address_that_was_checked(
    record_many, settings, fake_dns, witness_service
):
    """The name is resolved once and that address connected to: a second lookup (a DNS
    rebinding answer) is never asked for. The Host header still names the witness."""
    service, url = witness_service
    port = int(url.rsplit(":", 1)[1])
    lookups: list[str] = []
    real = socket.getaddrinfo

    def once_then_inside(host, *args, **kwargs):
        if host == "local.witness.example":
            lookups.append(host)
            address = "127.0.0.1" if len(lookups) == 1 else "10.0.0.9"
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
        return real(host, *args, **kwargs)

    settings.LEDGER_WITNESS_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    import ledger.witness_client

    ledger.witness_client.socket.getaddrinfo = once_then_inside
    try:
        witness = Witness.objects.create(
            institution=InstitutionFactory(),
            name="w",
            url=f"http://local.witness.example:{port}",
            vkey=service.vkey,
        )
        block = _seal(record_many)
        assert witness_all(height=block.height) == {str(witness): "cosigned"}
    finally:
        ledger.witness_client.socket.getaddrinfo = real
    assert lookups == ["local.witness.example"]


def test_loopback_witness_cosigns_only_through_the_allowed_networks(
    record_many, settings, witness_service, no_connect
):
    service, url = witness_service
    settings.LEDGER_WITNESS_ALLOWED_NETWORKS = []
    witness = _witness(url)
    Witness.objects.filter(pk=witness.pk).update(vkey=service.vkey)
    block = _seal(record_many)
    assert witness_all(height=block.height) == {str(witness): "address_refused"}
    assert no_connect == []


def test_an_allowed_network_lets_the_loopback_witness_cosign(
    record_many, settings, witness_service
):
    service, url = witness_service
    settings.LEDGER_WITNESS_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    witness = witness_register(
        institution=InstitutionFactory(), name="", url=url, vkey=service.vkey
    )
    block = _seal(record_many)
    assert witness_all(height=block.height) == {str(witness): "cosigned"}
    assert Cosignature.objects.filter(witness=witness).count() == 1


def test_a_redirect_is_not_followed(record_many, canned):
    target, target_url = canned(_reply(200, b"got you\n"))
    _redirector, url = canned(_reply(302, b"", Location=f"{target_url}/add-checkpoint"))
    witness = _witness(url)
    block = _seal(record_many)
    assert witness_all(height=block.height) == {str(witness): "redirected"}
    assert target.hits == 0
    witness.refresh_from_db()
    assert witness.last_status == "redirected" and witness.last_status_code == 302


SECRET = b"<html><script>alert('x')</script>AKIA-SECRET-TOKEN-from-169.254.169.254</html>"


@pytest.mark.parametrize("status", [200, 403, 500])
def test_a_reply_body_is_never_stored_or_shown(record_many, canned, client, cast, status):
    _server, url = canned(_reply(status, SECRET))
    witness = _witness(url)
    block = _seal(record_many)
    outcome = witness_all(height=block.height)[str(witness)]
    assert outcome == ("bad_response" if status == 200 else f"refused ({status})")
    witness.refresh_from_db()
    stored = " ".join(str(getattr(witness, f.attname)) for f in Witness._meta.concrete_fields)
    for fragment in ("script", "AKIA", "SECRET", "<", "html"):
        assert fragment not in stored
    assert len(witness.last_reason) <= 160 and witness.last_reason.isascii()
    client.force_login(cast.aud)
    page = client.get(reverse("ledger")).content.decode()
    assert "AKIA" not in page and "alert(" not in page
    assert witness.get_last_status_display() in page


def test_a_refusal_is_shown_in_words_with_its_status_code(record_many, canned, client, cast):
    _server, url = canned(_reply(404, b"unknown log origin\n", "text/plain; charset=utf-8"))
    witness = _witness(url)
    block = _seal(record_many)
    assert witness_all(height=block.height) == {str(witness): "refused (404)"}
    witness.refresh_from_db()
    assert (witness.last_status, witness.last_status_code) == ("refused", 404)
    assert "unknown log origin" not in witness.last_reason
    client.force_login(cast.aud)
    page = client.get(reverse("ledger")).content.decode()
    assert "does not know this log" in page


def test_a_slow_witness_is_classified_as_timed_out(record_many, canned, settings):
    settings.LEDGER_WITNESS_TIMEOUT_SECONDS = 0.5
    _server, url = canned(_sleep_then_reply(5))
    witness = _witness(url)
    block = _seal(record_many)
    assert witness_all(height=block.height) == {str(witness): "timed_out"}
    witness.refresh_from_db()
    assert witness.last_status == "timed_out"


@pytest.mark.parametrize(
    ("timeout", "deadline", "why"),
    [
        (1.0, 8.0, "the witnesses were asked one after another"),  # four cost one timeout
        (30.0, 1.0, "past a 1 s deadline"),  # one deadline bounds the whole block
    ],
)
def test_slow_witnesses_cost_one_timeout_or_the_deadline(
    record_many, canned, settings, timeout, deadline, why
):
    settings.LEDGER_WITNESS_TIMEOUT_SECONDS = timeout
    settings.LEDGER_WITNESS_DEADLINE_SECONDS = deadline
    witnesses = [_witness(canned(_sleep_then_reply(6))[1], name=f"w{i}") for i in range(4)]
    block = _seal(record_many)
    started = time.monotonic()
    outcome = witness_all(height=block.height)
    elapsed = time.monotonic() - started
    assert outcome == {str(w): "timed_out" for w in witnesses}
    # Asked in turn, four witnesses would take at least 4 s.
    assert elapsed < 2.5, f"took {elapsed:.1f}s: {why}"


def test_a_failing_witness_is_skipped_until_its_backoff_ends(
    record_many, settings, monkeypatch, witness_service
):
    service, good_url = witness_service
    settings.LEDGER_WITNESS_BACKOFF_SECONDS = 30
    settings.LEDGER_WITNESS_BACKOFF_MAX_SECONDS = 100
    witness = _witness("http://127.0.0.1:9")
    Witness.objects.filter(pk=witness.pk).update(vkey=service.vkey)
    block = _seal(record_many)
    t0 = timezone.now()
    assert witness_all(height=block.height) == {str(witness): "unreachable"}
    witness.refresh_from_db()
    assert witness.consecutive_failures == 1
    assert timedelta(seconds=29) < witness.next_attempt_at - t0 < timedelta(seconds=35)

    # Before its time the witness is not contacted at all.
    attempts: list[object] = []
    real_connect = socket.socket.connect

    def counting(self, address):
        attempts.append(address)
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", counting)
    assert witness_all(height=block.height) == {str(witness): "backing off"}
    assert attempts == []

    # Each further failure doubles the wait, up to the cap.
    expected = [60, 100, 100]
    for wait in expected:
        Witness.objects.filter(pk=witness.pk).update(next_attempt_at=timezone.now())
        before = timezone.now()
        assert witness_all(height=block.height) == {str(witness): "unreachable"}
        witness.refresh_from_db()
        assert abs((witness.next_attempt_at - before).total_seconds() - wait) < 5
    assert witness.consecutive_failures == 4

    # Success resets it.
    Witness.objects.filter(pk=witness.pk).update(url=good_url, next_attempt_at=timezone.now())
    assert witness_all(height=block.height) == {str(witness): "cosigned"}
    witness.refresh_from_db()
    assert witness.consecutive_failures == 0 and witness.next_attempt_at is None


def test_the_409_retry_with_the_witnesses_size_still_works(record_many, witness_service):
    service, url = witness_service
    witness = witness_register(
        institution=InstitutionFactory(), name="", url=url, vkey=service.vkey
    )
    first = _seal(record_many, 4)
    assert witness_all(height=first.height) == {str(witness): "cosigned"}
    # The portal forgets what the witness cosigned; the witness's 409 tells it again.
    Witness.objects.filter(pk=witness.pk).update(last_cosigned_size=0)
    second = _seal(record_many, 3, start=4)
    assert witness_all(height=second.height) == {str(witness): "cosigned"}
    witness.refresh_from_db()
    assert witness.last_cosigned_size == 7


def test_production_allows_no_http_and_no_private_network_by_default():
    import json

    from portal.tests.test_deploy_settings import PRODUCTION, _manage

    result = _manage(
        "shell",
        "-c",
        "import json; from django.conf import settings as s; print(json.dumps("
        "[s.LEDGER_WITNESS_ALLOW_HTTP, s.LEDGER_WITNESS_ALLOWED_NETWORKS]))",
        **PRODUCTION,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [False, []]


def _self_signed(tmp_path, name: str):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = timezone.now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@pytest.fixture
def tls_witness(tmp_path, monkeypatch, settings):
    """tls_witness(cert_name) → (service, https URL of tls.witness.test): the witness server
    behind TLS with a certificate for cert_name, on loopback; the portal trusts that
    certificate and resolves tls.witness.test to 127.0.0.1, which the settings allow."""
    import ssl

    settings.LEDGER_WITNESS_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    servers = []
    real_context = ssl.create_default_context

    def start(cert_name: str):
        cert_file, key_file = _self_signed(tmp_path, cert_name)
        monkeypatch.setattr(
            ssl, "create_default_context", lambda *a, **k: real_context(cafile=str(cert_file))
        )
        service = WitnessService(
            generate_signer("witness.tls.example", 0x04),
            tmp_path / "tls-witness-state",
            [log_verifier().to_vkey()],
        )
        server = make_server(service, "127.0.0.1", 0)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        port = server.server_address[1]
        real_getaddrinfo = socket.getaddrinfo

        def getaddrinfo(host, *args, **kwargs):
            if host == "tls.witness.test":
                return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
            return real_getaddrinfo(host, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        return service, f"https://tls.witness.test:{port}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_https_goes_to_the_checked_address_and_verifies_the_name(record_many, tls_witness):
    service, url = tls_witness("tls.witness.test")
    witness = witness_register(
        institution=InstitutionFactory(), name="", url=url, vkey=service.vkey
    )
    block = _seal(record_many)
    assert witness_all(height=block.height) == {str(witness): "cosigned"}


def test_a_certificate_for_another_name_is_unreachable(record_many, tls_witness):
    service, url = tls_witness("someone-else.example")
    witness = witness_register(
        institution=InstitutionFactory(), name="", url=url, vkey=service.vkey
    )
    block = _seal(record_many)
    assert witness_all(height=block.height) == {str(witness): "unreachable"}
    witness.refresh_from_db()
    assert "certificate" in witness.last_reason


def test_plain_http_is_refused_at_send_time_where_the_setting_forbids_it(
    record_many, settings, witness_service, no_connect
):
    service, url = witness_service
    witness = witness_register(
        institution=InstitutionFactory(), name="", url=url, vkey=service.vkey
    )
    settings.LEDGER_WITNESS_ALLOW_HTTP = False
    block = _seal(record_many)
    assert witness_all(height=block.height) == {str(witness): "address_refused"}
    assert no_connect == []
    witness.refresh_from_db()
    assert "https" in witness.last_reason


def test_migration_0003_keeps_no_reply_and_classifies_old_statuses():
    import importlib

    from django.apps import apps

    migration = importlib.import_module("ledger.migrations.0003_witness_status_and_backoff")
    old = {
        "refused (422)": ("refused", 422),
        "size mismatch": ("refused", 409),
        "bad cosignature": ("bad_signature", None),
        "unreachable": ("unreachable", None),
        "cosigned": ("cosigned", None),
        "something else": ("bad_response", None),
    }
    rows = {status: _witness("https://w.example", name=f"w{i}") for i, status in enumerate(old)}
    for status, row in rows.items():
        Witness.objects.filter(pk=row.pk).update(last_status=status)
    migration.classify_old_statuses(apps, None)
    for status, row in rows.items():
        row.refresh_from_db()
        assert (row.last_status, row.last_status_code) == old[status]
    assert not any(f.name == "last_error" for f in Witness._meta.get_fields())
