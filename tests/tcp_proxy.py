"""A TCP proxy a test can cut: the database "unreachable" for as long as the test says.

``cut()`` closes every connection going through it and refuses new ones (each is accepted and
closed at once, as a server that went away would); ``restore()`` lets them through again. While
``recording`` is set, what clients send the server is kept in ``sent``, for a test that reads the
wire. Threads only, so it serves any client (a connection pool, another process).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Iterator

import pytest
from sqlalchemy.engine import make_url


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.down = False
        self.refused = 0  # connections refused while cut
        self.recording = False  # while True, what clients send to the server is kept in ``sent``
        self.sent = bytearray()
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            self.down = True
            sockets, self._open = self._open, set()
        for sock in sockets:
            _close(sock)

    def restore(self) -> None:
        with self._lock:
            self.down = False

    def close(self) -> None:
        self.cut()
        _close(self.listener)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            with self._lock:
                down = self.down
            if down:
                self.refused += 1
                _close(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open.update((client, upstream))
            for source, sink, outbound in ((client, upstream, True), (upstream, client, False)):
                threading.Thread(target=self._pump, args=(source, sink, outbound), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, outbound: bool) -> None:
        try:
            while data := source.recv(65536):
                if outbound and self.recording:
                    self.sent += data
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with self._lock:
                    self._open.discard(sock)
                _close(sock)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


@contextlib.contextmanager
def proxied_database(database_url: str) -> Iterator[tuple[TcpProxy, str]]:
    """The proxy in front of the test's PostgreSQL schema, and the URL that goes through it."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        pytest.skip("a database server to cut off is PostgreSQL's case; SQLite is a file in the process")
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    try:
        yield proxy, url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    finally:
        proxy.close()
