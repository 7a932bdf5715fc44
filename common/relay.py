"""Make a client appear from a chosen loopback address.

gRPC Python cannot bind a channel's source address, so every local client looks like
127.0.0.1 and per-IP rules (suspensions) cannot tell them apart. A relay listens on
127.0.0.1 and forwards each connection to the target from `source_ip`; point the channel at
`relay.address` and the server sees `source_ip` (any address in 127.0.0.0/8 works on Linux).
"""

from __future__ import annotations

import contextlib
import socket
import threading


class SourceAddressRelay:
    def __init__(self, source_ip: str, target_host: str, target_port: int) -> None:
        self.source_ip = source_ip
        self._target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self._listener.getsockname()[1]}"
        self._closed = threading.Event()
        self._sockets: set[socket.socket] = set()
        threading.Thread(target=self._accept, name=f"relay-{source_ip}", daemon=True).start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                inbound, _ = self._listener.accept()
            except OSError:
                return
            try:
                outbound = socket.create_connection(
                    self._target, timeout=10, source_address=(self.source_ip, 0)
                )
            except OSError:
                inbound.close()
                continue
            outbound.settimeout(None)
            for sock in (inbound, outbound):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self._sockets.add(sock)
            threading.Thread(target=self._pump, args=(inbound, outbound), daemon=True).start()
            threading.Thread(target=self._pump, args=(outbound, inbound), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self._closed.set()
        self._listener.close()
        for sock in list(self._sockets):
            with contextlib.suppress(OSError):
                sock.close()

    def __enter__(self) -> SourceAddressRelay:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
