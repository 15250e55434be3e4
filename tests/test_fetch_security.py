"""URL fetching's security edges: the address policy, the connection, one deadline per fetch.

Real sockets on 127.0.0.1; the only fake is DNS (names under .test answer what a test says) and
connections to addresses other than loopback, which are refused without leaving the machine.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from bot.core.errors import IngestError
from ingest import addresses
from ingest.fetch import fetch
from tests.conftest import make_settings
from tests.webserver import Site

REFUSED = [
    "100.100.100.200",  # carrier-grade NAT: a cloud metadata service
    "100.64.0.1",
    "2002:7f00:1::",  # 6to4 around 127.0.0.1
    "2002:a9fe:a9fe::1",  # 6to4 around 169.254.169.254
    "::ffff:127.0.0.1",
    "::ffff:100.100.100.200",
    "64:ff9b::7f00:1",  # NAT64 around 127.0.0.1
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    "::7f00:1",  # IPv4-compatible, deprecated
    "224.0.0.1", "ff0e::1",  # multicast
    "127.0.0.1", "10.1.2.3", "169.254.169.254", "fd00::1", "fe80::1", "::1", "0.0.0.0",
]
PUBLIC = ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "2002:5db8:d822::1",
          "::ffff:93.184.216.34", "64:ff9b::5db8:d822"]


@pytest.mark.parametrize("address", REFUSED)
def test_the_policy_refuses_non_global_and_wrapped_local_addresses(address):
    assert not addresses.is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_the_policy_accepts_global_addresses_and_their_wrapped_forms(address):
    assert addresses.is_public(ipaddress.ip_address(address))


@dataclass
class Network:
    """Fake DNS answers by name (successive lookups take successive answers) and the addresses
    connections were opened to."""

    answers: dict[str, list[list[str]]] = field(default_factory=dict)
    loopback_names: set[str] = field(default_factory=set)  # names a real connection may resolve
    connected: list[str] = field(default_factory=list)


@pytest.fixture
def network(monkeypatch) -> Network:
    net = Network()
    real_lookup, real_connect = socket.getaddrinfo, socket.create_connection

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in net.answers:
            return real_lookup(host, port, *args, **kwargs)
        queue = net.answers[host]
        found = queue.pop(0) if len(queue) > 1 else queue[0]
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                 (a, port)) for a in found]

    def create_connection(address, *args, **kwargs):
        net.connected.append(address[0])
        if address[0] in ("127.0.0.1", "::1") or address[0] in net.loopback_names:
            return real_connect(address, *args, **kwargs)
        raise ConnectionRefusedError(111, "refused by the test network")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    return net


@pytest.fixture
def site() -> Iterator[Site]:
    site = Site()
    site.thread.start()
    site.serve("/page.html", "<html><body><p>Hello.</p></body></html>")
    yield site
    site.server.shutdown()
    site.server.server_close()


@pytest.mark.parametrize("address", ["100.100.100.200", "2002:7f00:1::", "::ffff:10.0.0.1"])
def test_a_host_resolving_to_a_refused_address_is_never_connected_to(
        network, tmp_path, address):
    network.answers["metadata.test"] = [[address]]
    with pytest.raises(IngestError, match=r"refused, metadata\.test \(.*\) is a private or local"):
        fetch("http://metadata.test/latest/", make_settings(tmp_path / "data"))
    assert network.connected == []


def test_a_dns_answer_that_changes_after_the_check_is_never_requested(
        network, site, tmp_path):
    # DNS rebinding: the first answer is public, a second lookup would land on 127.0.0.1.
    network.answers["rebound.test"] = [["93.184.216.34"], ["127.0.0.1"]]
    network.loopback_names.add("rebound.test")
    with pytest.raises(IngestError, match="cannot fetch"):
        fetch(f"http://rebound.test:{site.port}/page.html", make_settings(tmp_path / "data"))
    assert site.hits["/page.html"] == 0
    assert network.connected == ["93.184.216.34"]  # the address that was checked, and only it


def test_the_escape_hatch_for_local_servers_is_off_by_default(site, tmp_path):
    settings = make_settings(tmp_path / "data")
    assert settings.allow_private_urls is False
    with pytest.raises(IngestError, match="is a private or local address"):
        fetch(site.url("/page.html"), settings)
    assert site.hits["/page.html"] == 0
    allowed = make_settings(tmp_path / "data", allow_private_urls=True)
    assert fetch(site.url("/page.html"), allowed).content.startswith(b"<html>")


class Trickler:
    """A server on 127.0.0.1 that answers one request a byte at a time, `gap` seconds apart,
    after sending `head` at once (pacing is the server's behaviour, not a test's wait)."""

    def __init__(self, head: bytes, trickled: bytes, gap: float = 0.1) -> None:
        self.head, self.trickled, self.gap = head, trickled, gap
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stop, self.finished = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        conn, _ = self.listener.accept()
        with conn:
            conn.recv(65536)
            try:
                conn.sendall(self.head)
                for byte in self.trickled:
                    if self.stop.wait(self.gap):
                        return
                    conn.sendall(bytes([byte]))
            except OSError:  # the client hung up: what a deadline should make it do
                return
            self.finished.set()

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.listener.close()


BODY = b"<html><body><p>" + b"x" * 60 + b"</p></body></html>"
HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: "
        + str(len(BODY)).encode() + b"\r\n")


@pytest.mark.parametrize("split", [len(HEAD), len(HEAD) + 2], ids=["headers", "body"])
def test_a_trickling_server_is_cut_off_at_the_fetch_deadline(tmp_path, split):
    # Each byte comes well inside a per-read timeout; the whole answer takes 8 s or more.
    whole = HEAD + b"X-Padding: " + b"p" * 20 + b"\r\n\r\n" + BODY
    split = split if split == len(HEAD) else whole.index(b"\r\n\r\n") + 4
    server = Trickler(whole[:split], whole[split:])
    settings = make_settings(tmp_path / "data", allow_private_urls=True, fetch_timeout=1.0)
    try:
        with pytest.raises(IngestError, match="timed out after 1 s"):
            fetch(f"http://127.0.0.1:{server.port}/", settings)
        assert not server.finished.is_set()
    finally:
        server.close()
