"""A local SMTP sink for bench/invoicing: accepts every message and throws it away.

    .venv/bin/python bench/invoicing/sink.py PORT

Just enough ESMTP for aiosmtplib (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT); a message
ends at CRLF.CRLF and is counted, nothing is parsed or kept. It runs in its own process on
uvloop and costs a few microseconds a message, so the bench measures the invoicer (the
reference tests use aiosmtpd, which parses every line: too slow to be a sink for 100,000
invoices on the same cores). SIGTERM prints how many messages and bytes it took.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import cast

EHLO = b"250-sink\r\n250-8BITMIME\r\n250-PIPELINING\r\n250 SIZE 104857600\r\n"
END = b"\r\n.\r\n"


class Counts:
    messages = 0
    octets = 0


class Sink(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's does not subclass it
        self.buffer = bytearray()
        self.in_data = False
        self.transport.write(b"220 sink ESMTP\r\n")

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while self.buffer:
            if self.in_data:
                end = self.buffer.find(END)
                if end < 0:
                    if len(self.buffer) > 4:  # keep a tail that may hold the start of CRLF.CRLF
                        Counts.octets += len(self.buffer) - 4
                        del self.buffer[:-4]
                    return
                Counts.octets += end
                Counts.messages += 1
                del self.buffer[:end + len(END)]
                self.in_data = False
                self.transport.write(b"250 2.0.0 Ok: queued\r\n")
                continue
            eol = self.buffer.find(b"\r\n")
            if eol < 0:
                return
            verb = bytes(self.buffer[:4]).upper()
            del self.buffer[:eol + 2]
            if verb in (b"EHLO", b"HELO"):
                self.transport.write(EHLO if verb == b"EHLO" else b"250 sink\r\n")
            elif verb == b"DATA":
                self.in_data = True
                self.transport.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
            elif verb == b"QUIT":
                self.transport.write(b"221 2.0.0 Bye\r\n")
                self.transport.close()
                return
            else:
                self.transport.write(b"250 2.0.0 Ok\r\n")


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Sink, "127.0.0.1", port, backlog=1024)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    print("ready", flush=True)
    await stop.wait()
    server.close()
    print(f"{Counts.messages} messages, {Counts.octets} octets", flush=True)


if __name__ == "__main__":
    import uvloop

    uvloop.run(serve(int(sys.argv[1])))
