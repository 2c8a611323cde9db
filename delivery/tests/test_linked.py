"""Linked Content: https JSON fetched at send time, refusing our own network.

A real HTTP(S) server on loopback answers; the tests reach it only through the test
settings (LINKED_CONTENT_ALLOW_HTTP, LINKED_CONTENT_ALLOWED_NETWORKS). Refused addresses
are refused before any connection, so no packet goes to them.
"""

import json
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from delivery.linked import LinkedContent, LinkedContentError, refusal
from tests.pushservices.apns import self_signed_certificate


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body=b"", kind="application/json", headers=(), length=True):
        self.send_response(status)
        self.send_header("Content-Type", kind)
        if length:
            self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.server.seen.append((self.path, self.headers.get("Host")))
        path = self.path.split("?", 1)[0]
        if path == "/weather":
            self.answer(200, json.dumps({"city": "Lyon", "celsius": 21}).encode())
        elif path == "/big":  # no Content-Length: only counting while reading catches it
            self.close_connection = True
            self.answer(200, json.dumps({"pad": "x" * 100_000}).encode(), length=False)
        elif path == "/big-declared":
            self.answer(200, json.dumps({"pad": "x" * 100_000}).encode())
        elif path == "/slow":
            time.sleep(2)
            self.answer(200, b"{}")
        elif path == "/drip":  # headers at once, then a byte every 0.2 s: each read is quick
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            for _ in range(20):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.2)
        elif path == "/page":
            self.answer(200, b"<html></html>", kind="text/html")
        elif path == "/broken":
            self.answer(200, b"{'not': json}")
        elif path == "/missing":
            self.answer(404, b"{}")
        elif path.startswith("/to/"):  # /to/<url>: a redirect there
            self.answer(302, headers=[("Location", self.path[len("/to/") :])])
        else:
            self.answer(500)


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.seen = []
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def local(server, settings):
    """The test escape hatch: plain http and loopback allowed, as production never allows."""
    settings.LINKED_CONTENT_ALLOW_HTTP = True
    settings.LINKED_CONTENT_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    server.seen.clear()
    return f"http://127.0.0.1:{server.server_port}"


def refused(url, **options):
    with pytest.raises(LinkedContentError) as error:
        LinkedContent(**options).get(url)
    return error.value.message


def test_it_fetches_and_parses_json(local):
    assert LinkedContent().get(f"{local}/weather?q=lyon") == {"city": "Lyon", "celsius": 21}


def test_each_url_is_fetched_once_per_instance_errors_included(local, server):
    content = LinkedContent()
    assert content.get(f"{local}/weather") is content.get(f"{local}/weather")
    for _ in range(3):
        with pytest.raises(LinkedContentError, match="HTTP 404"):
            content.get(f"{local}/missing")
    assert [path for path, _ in server.seen] == ["/weather", "/missing"]
    LinkedContent().get(f"{local}/weather")  # a new run fetches afresh
    assert len(server.seen) == 3


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/",
        "https://127.9.9.9:8443/x",
        "https://localhost/",
        "https://[::1]/",
        "https://[::ffff:127.0.0.1]/",
        "https://0.0.0.0/",
    ],
)
def test_loopback_is_refused_by_address_and_by_name(settings, url):
    assert "refused" in refused(url)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://10.1.2.3/", "private"),
        ("https://192.168.1.1/", "private"),
        ("https://172.16.0.1/", "private"),
        ("https://169.254.10.10/", "link-local"),
        ("https://[fe80::1]/", "link-local"),
        ("https://224.0.0.251/", "multicast"),
        ("https://240.0.0.1/", "reserved"),
        ("https://100.64.0.1/", "not a public address"),
        ("https://169.254.169.254/latest/meta-data/", "cloud metadata"),
        ("https://[fd00:ec2::254]/", "cloud metadata"),
        ("https://100.100.100.200/", "cloud metadata"),
    ],
)
def test_private_link_local_multicast_reserved_and_metadata_addresses_are_refused(url, reason):
    assert reason in refused(url)


def test_metadata_addresses_stay_refused_even_where_tests_allow_a_network(settings):
    settings.LINKED_CONTENT_ALLOWED_NETWORKS = ["169.254.0.0/16"]
    assert "cloud metadata" in refused("https://169.254.169.254/")
    assert refusal("169.254.1.1", [__import__("ipaddress").ip_network("169.254.0.0/16")]) is None


def test_public_addresses_pass_the_check():
    assert refusal("93.184.215.14") is None
    assert refusal("2606:4700::6810:84e5") is None


def test_plain_http_and_other_schemes_are_refused_in_production(settings):
    for url in ("http://example.com/data.json", "ftp://example.com/data.json", "file:///etc/passwd"):
        assert "must be an https URL" in refused(url)


def test_the_local_server_is_refused_without_the_test_settings(server):
    assert "https" in refused(f"http://127.0.0.1:{server.server_port}/weather")


def test_an_answer_over_the_size_cap_is_cut_while_streaming(local):
    assert "larger than 64 KB" in refused(f"{local}/big")
    assert "larger than 64 KB" in refused(f"{local}/big-declared")
    assert LinkedContent(max_bytes=200_000).get(f"{local}/big")["pad"] == "x" * 100_000


def test_a_slow_server_times_out(local):
    started = time.monotonic()
    assert "timed out" in refused(f"{local}/slow", timeout=0.5)
    assert time.monotonic() - started < 1.5


def test_a_server_dripping_bytes_cannot_stretch_the_timeout(local):
    started = time.monotonic()
    assert "timed out" in refused(f"{local}/drip", timeout=1)
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(("path", "message"), [("/page", "text/html, not JSON"), ("/broken", "not valid JSON")])
def test_only_json_is_accepted(local, path, message):
    assert message in refused(f"{local}{path}")


def test_a_redirect_is_followed_to_a_checked_address(local, server):
    assert LinkedContent().get(f"{local}/to/{local}/weather") == {"city": "Lyon", "celsius": 21}
    assert [path for path, _ in server.seen] == [f"/to/{local}/weather", "/weather"]


@pytest.mark.parametrize(
    "target", ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/admin", "http://[::1]:8000/"]
)
def test_a_redirect_to_a_private_address_is_refused(local, target):
    assert "refused" in refused(f"{local}/to/{target}")


def test_redirects_are_limited(local):
    hops = f"{local}/weather"
    for _ in range(4):
        hops = f"{local}/to/{hops}"
    assert "more than 3 redirects" in refused(hops)


def test_messages_never_carry_the_query_which_may_hold_an_api_key(local):
    message = refused(f"{local}/missing?apikey=s3cret")
    assert "/missing" in message and "s3cret" not in message


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    """The same handler over TLS, with a certificate for localhost and 127.0.0.1."""
    certificate, key = self_signed_certificate()
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(certificate)
    (folder / "key.pem").write_bytes(key)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.seen, httpd.server_names = [], []
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    context.sni_callback = lambda sock, name, ctx: httpd.server_names.append(name)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    httpd.cafile = str(folder / "cert.pem")
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_https_connects_to_the_checked_address_with_the_host_name_for_sni_host_and_certificate(
    tls_server, settings, monkeypatch
):
    settings.LINKED_CONTENT_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    monkeypatch.setenv("SSL_CERT_FILE", tls_server.cafile)  # trust the test certificate
    url = f"https://localhost:{tls_server.server_port}/weather"
    assert LinkedContent().get(url)["city"] == "Lyon"
    assert tls_server.server_names[-1] == "localhost"
    assert tls_server.seen[-1] == ("/weather", f"localhost:{tls_server.server_port}")


def test_https_refuses_a_certificate_it_does_not_trust(tls_server, settings):
    settings.LINKED_CONTENT_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    assert "certificate" in refused(f"https://localhost:{tls_server.server_port}/weather")
