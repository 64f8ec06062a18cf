"""Capture the packets FreeRADIUS's radclient sends, as test vectors.

    .venv/bin/python -m tests.protocols.radius.capture_radclient

writes ``vectors/radclient.toml``: for each case the radclient input, the raw request
as hex, and radclient's own dump of what it sent (the readable, independent side).
The listener answers each request (with our encoder) so radclient exits at once.
"""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

from protocols.radius import codec

VECTORS = Path(__file__).parent / "vectors" / "radclient.toml"
SECRET = "testing123"

CASES: list[tuple[str, str, str]] = [
    ("pap", "auth", 'User-Name = "bob", User-Password = "hello", NAS-IP-Address = 10.0.0.1, NAS-Port = 7'),
    ("pap-message-authenticator", "auth",
     'User-Name = "alice@example.net", User-Password = "a password longer than sixteen octets",'
     ' Message-Authenticator = 0x00, Calling-Station-Id = "00-11-22-33-44-55"'),
    ("chap", "auth", 'User-Name = "bob", CHAP-Password = "hello", NAS-Identifier = "bras1"'),
    ("vsa-and-tags", "auth",
     'User-Name = "carol", User-Password = "pw", Mikrotik-Realm = "isp", Cisco-AVPair = "ip:addr-pool=p1",'
     ' Cisco-AVPair = "subscriber:accounting-list=default", Tunnel-Type:1 = L2TP,'
     ' Framed-IPv6-Prefix = 2001:db8:1::/48, Event-Timestamp = 1764115200'),
    ("acct-start", "acct",
     'User-Name = "bob", Acct-Status-Type = Start, Acct-Session-Id = "81000001", NAS-IP-Address = 10.0.0.1,'
     ' Framed-IP-Address = 100.64.0.10, Event-Timestamp = 1764115200, Acct-Authentic = RADIUS'),
    ("acct-interim-gigawords", "acct",
     'User-Name = "bob", Acct-Status-Type = Interim-Update, Acct-Session-Id = "81000001",'
     ' Acct-Input-Octets = 1234567, Acct-Input-Gigawords = 2, Acct-Output-Octets = 4294967295,'
     ' Acct-Output-Gigawords = 23, Acct-Session-Time = 600, Message-Authenticator = 0x00'),
    ("acct-stop", "acct",
     'User-Name = "bob", Acct-Status-Type = Stop, Acct-Session-Id = "81000001", Acct-Input-Octets = 10,'
     ' Acct-Output-Octets = 20, Acct-Terminate-Cause = User-Request, Acct-Session-Time = 3600'),
    ("coa", "coa",
     'User-Name = "bob", Acct-Session-Id = "81000001", Mikrotik-Rate-Limit = "1M/1M",'
     ' Message-Authenticator = 0x00'),
    ("disconnect", "disconnect",
     'User-Name = "bob", Acct-Session-Id = "81000001", Framed-IP-Address = 100.64.0.10'),
    ("status-server", "status", 'Message-Authenticator = 0x00'),
]

_REPLY = {1: 2, 4: 5, 12: 2, 40: 41, 43: 44}


def capture(command: str, text: str) -> tuple[bytes, str]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(5)
        port = sock.getsockname()[1]
        argv = ["radclient", "-x", "-r", "1", "-t", "3", f"127.0.0.1:{port}", command, SECRET]
        proc = subprocess.Popen(argv,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(text + "\n")
        proc.stdin.close()
        data, addr = sock.recvfrom(4096)
        request = codec.decode_packet(data)
        sock.sendto(codec.encode_reply(request, _REPLY[request.code], [], SECRET.encode()), addr)
        out = proc.stdout.read()
        proc.wait(5)
    sent = out.split("Received", 1)[0]
    return data, sent.strip()


def main() -> None:
    lines = ["# Packets sent by FreeRADIUS radclient 3.2 (freeradius-utils), captured by",
             "# tests/protocols/radius/capture_radclient.py. `sent` is radclient's own dump.", ""]
    for name, command, text in CASES:
        data, sent = capture(command, text)
        lines += [f"[{name}]", f'command = "{command}"', f'secret = "{SECRET}"',
                  f"input = '{text}'", f'hex = "{data.hex()}"', f"sent = '''\n{sent}\n'''", ""]
    VECTORS.write_text("\n".join(lines))


if __name__ == "__main__":
    main()
