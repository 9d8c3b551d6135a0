"""Servers that misbehave at the TCP level, on loopback: an error answer with an endless body,
and one that drips its answer a byte at a time. Each counts what it managed to send."""

from __future__ import annotations

import socket
import threading
import time


class Hostile:
    """mode "huge": 500 with Content-Length 2 GiB, zeros until the client hangs up.
    mode "drip": a 202 whose status line and headers come one byte every `pace` seconds."""

    def __init__(self, mode: str, pace: float = 0.5) -> None:
        self.mode, self.pace = mode, pace
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sent = 0
        self.connections = 0
        self.stopped = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def stop(self) -> None:
        self.stopped.set()
        self.sock.close()

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        try:
            conn.recv(65536)  # the request (small); the body may still be coming, no matter
            if self.mode == "huge":
                conn.sendall(
                    b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\n"
                    b"Content-Length: 2147483648\r\n\r\n"
                )
                chunk = b"0" * 65536
                while not self.stopped.is_set() and self.sent < 2 << 30:
                    conn.sendall(chunk)
                    self.sent += len(chunk)
            else:
                answer = b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{}"
                for byte in answer:
                    if self.stopped.wait(self.pace):
                        break
                    conn.sendall(bytes([byte]))
                    self.sent += 1
        except OSError:
            pass  # the client hung up: what we want it to do
        finally:
            conn.close()
            time.sleep(0)
