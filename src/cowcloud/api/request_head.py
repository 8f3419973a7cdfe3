"""Caps on what a request may send before its body: size and time.

uvicorn parses HTTP with httptools, which has no limit on the request line or the headers: it
joins the pieces of an unfinished header as they come (one 256 MiB header took 79 s and grew the
server by 520 MiB), and nothing bounds how long a client may take to finish its headers (a
slow-loris holds a connection for ever with a byte now and then). Apache and uWSGI in front of
Keystone and Glance refuse such requests; this protocol does so in uvicorn itself:

- the request line and each header line up to `max_header_line` bytes (Glance's
  max_header_line, 16 KiB by default): a longer request line is 414, a longer header line 431;
- the whole head up to `max_header_bytes`: counted as the bytes arrive, so memory stays bounded
  by the cap plus one read, whatever the client sends; 431;
- the head within `header_timeout_seconds` of the connection opening or of the previous
  response (mod_reqtimeout's header timeout): 408, or a silent close if nothing came at all.

Bodies are not counted here: image uploads stream through, and api.limits caps the others.
The refusal is written, the sending side shut, and what the client still sends read and dropped
for a moment (Apache's lingering close), so it sees the answer rather than a connection reset.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from ..config import ServerSettings
from .errors import render_error

LINGER_SECONDS = 2.0  # Apache's lingering close reads for 2 s per read, 30 s at most


class _Refused(Exception):
    pass


class CappedHttpToolsProtocol(HttpToolsProtocol):
    max_header_line = 16384
    max_header_bytes = 65536
    header_timeout = 20.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._awaiting_head = True
        self._head_bytes = 0
        self._head_timer: asyncio.TimerHandle | None = None
        self._refusal: tuple[int, str] | None = None
        self._lingering = False

    # connection

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            return  # the rest of a refused request: dropped
        if self._awaiting_head:
            self._head_bytes += len(data)
        super().data_received(data)
        if (self._awaiting_head and self._head_bytes > self.max_header_bytes
                and not self.transport.is_closing()):
            self._refuse(431, f"Request header fields too large: more than "
                              f"{self.max_header_bytes} bytes")

    def send_400_response(self, msg: str) -> None:
        # uvicorn answers any parser error with this 400, a callback's refusal among them
        if self._refusal is not None:
            self._refuse(*self._refusal)
        else:
            super().send_400_response(msg)

    # parser callbacks (an exception in one stops httptools, which uvicorn reports as a 400:
    # the refusal is noted first, and send_400_response answers with it instead)

    def _stop(self, status: int, message: str) -> None:
        self._refusal = (status, message)
        raise _Refused(message)

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > self.max_header_line:
            self._stop(414, f"Request-URI too long: more than {self.max_header_line} bytes")

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(name) + len(value) + 2 > self.max_header_line:
            self._stop(431, f"Request header field {name.decode('latin-1')[:64]!r} too large: "
                            f"more than {self.max_header_line} bytes")
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        # the last read may have brought the end of an oversized head: counted exactly here
        size = len(self.url) + sum(len(n) + len(v) + 4 for n, v in self.headers)
        if size > self.max_header_bytes:
            self._stop(431, f"Request header fields too large: more than "
                            f"{self.max_header_bytes} bytes")
        self._awaiting_head = False
        self._head_bytes = 0
        self._disarm_head_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._awaiting_head = True  # the next bytes are the next request's head

    def on_response_complete(self) -> None:
        super().on_response_complete()  # may start a pipelined request
        if self._awaiting_head and self._idle() and not self.transport.is_closing():
            self._arm_head_timer()  # the client's time for its next request starts now

    def _idle(self) -> bool:
        """No request is being answered (the client may be waiting for it, not sending)."""
        return self.cycle is None or self.cycle.response_complete

    # the head's deadline

    def _arm_head_timer(self) -> None:
        self._disarm_head_timer()
        self._head_timer = self.loop.call_later(self.header_timeout, self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self._awaiting_head or not self._idle() or self.transport.is_closing():
            return  # the answer's end arms it again
        if self._head_bytes == 0:
            # nothing of a request came: no answer, or a client that sends its next request
            # on a keep-alive connection at this moment would read it as that request's
            self.transport.close()
            return
        self._refuse(408, f"Request timeout: the request line and headers did not arrive "
                          f"within {self.header_timeout:g} seconds")

    def _refuse(self, status: int, message: str) -> None:
        self._disarm_head_timer()
        if self._lingering or self.transport.is_closing():
            return
        if not self._idle():
            # a pipelined request refused while the one before it is still answered: an answer
            # now would land inside that response
            self.transport.close()
            return
        self._lingering = True
        path = getattr(self, "url", b"").split(b"?", 1)[0].decode("latin-1")
        accept = next((v.decode("latin-1") for n, v in self.headers or () if n == b"accept"),
                      None)
        body, content_type = render_error(path, accept, status, message)
        head = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            head += [name, b": ", value, b"\r\n"]
        head += [b"content-type: ", content_type.encode(), b"\r\n",
                 b"content-length: ", str(len(body)).encode(), b"\r\n",
                 b"connection: close\r\n\r\n", body]
        self.transport.write(b"".join(head))
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, self._linger_over)

    def _linger_over(self) -> None:
        if not self.transport.is_closing():
            self.transport.close()


def protocol_for(server: ServerSettings) -> type[CappedHttpToolsProtocol]:
    """The protocol class for uvicorn's `http=` option, with the caps of these settings."""
    return type("CappedHttpToolsProtocol", (CappedHttpToolsProtocol,), {
        "max_header_line": server.max_header_line,
        "max_header_bytes": server.max_header_bytes,
        "header_timeout": float(server.header_timeout_seconds),
    })

