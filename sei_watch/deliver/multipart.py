"""The multipart body SEI's plugin endpoint takes, sent piece by piece: the payload as a
`json` part and the tests' zip as a `file` part, streamed from wherever it lies (an open blob
of the outbox file), with its length known up front."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Protocol

__all__ = ["Attachment", "SizedReader", "Streamed", "multipart_body"]


def _part(boundary: str, name: str, filename: str, ctype: str) -> bytes:
    """A part's head; its data and the closing CRLF follow."""
    return (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
        f'filename="{filename}"\r\nContent-Type: {ctype}\r\n\r\n'
    ).encode()


class SizedReader(Protocol):
    """An open blob of the outbox file (or any reader that knows its length)."""

    def __len__(self) -> int: ...

    def read(self, length: int = -1, /) -> bytes: ...


Attachment = bytes | SizedReader  # what a tests' zip is sent from


class Streamed:
    """A request body sent piece by piece, with its length known up front (Content-Length,
    not chunked: proxies in front of SEI may refuse chunked uploads)."""

    def __init__(self, pieces: list[bytes | Attachment]) -> None:
        self.pieces = pieces

    def __len__(self) -> int:
        return sum(len(p) for p in self.pieces)

    def __iter__(self) -> Iterator[bytes]:
        for piece in self.pieces:
            if isinstance(piece, bytes | bytearray | memoryview):
                yield bytes(piece)
                continue
            read = piece.read
            while chunk := read(_STREAM_CHUNK):
                yield chunk


_STREAM_CHUNK = 1 << 16


def multipart_body(body: bytes, attachment: Attachment | None) -> tuple[Streamed, str]:
    """The request body and its Content-Type for the payload `body` and its tests' zip."""
    generic = json.dumps(
        {"request_type": "JenkinsPluginJobRunComplete", "payload": body.decode("utf-8")}
    ).encode()
    boundary = f"sei-watch-{secrets.token_hex(12)}"
    pieces: list[bytes | Attachment] = [_part(boundary, "json", "json", "application/json")]
    pieces += [generic, b"\r\n"]
    if attachment is not None and len(attachment):
        pieces += [_part(boundary, "file", "junit.zip", "application/zip"), attachment, b"\r\n"]
    pieces.append(f"--{boundary}--\r\n".encode())
    return Streamed(pieces), f"multipart/form-data; boundary={boundary}"
