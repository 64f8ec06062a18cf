"""FreeRADIUS users files: import with line-numbered errors, all-or-nothing, round trip."""

from __future__ import annotations

from provisioning.credentials import nt_hash
from provisioning.models import OPERATOR
from provisioning.service import Service
from provisioning.usersfile import import_users, parse_users, render_users

GOOD = '''# a comment
alice   Cleartext-Password := "pa ss\\"word", Simultaneous-Use := 2
        Framed-IP-Address = 10.0.0.5,
        Mikrotik-Rate-Limit = "2M/2M",
        Session-Timeout = 3600

"bob"   NT-Password := 0x8846F7EAEE8FB117AD06BDD830B7586C   # trailing comment
        Framed-Pool = "pool-a"
carol   Cleartext-Password := "c#not-a-comment", Auth-Type := Reject
dave@isp2 Cleartext-Password := "d"
        Reply-Message = "Hello, dave"
'''

BAD = '''alice   Cleartext-Password := "a"
DEFAULT Auth-Type := Accept
bob     Cleartext-Password := "b"
        Framed-IP-Address = 10.0.0.5
        Reply-Message = "after the end"
carol   Group := "staff"
dave    Cleartext-Password := "d"
        X-Unknown-Thing = 1
erin    Cleartext-Password = "e" junk
alice   Cleartext-Password := "again"
'''


async def test_import_then_export_round_trips(service: Service) -> None:
    await service.create_realm(OPERATOR, "isp2", allow_chap=True)
    await service.update_realm(OPERATOR, "default", allow_chap=True)
    result = await import_users(service, OPERATOR, GOOD, realm=None, partial=False)
    assert result == {"imported": 4, "errors": [], "entries": 4}
    alice = await service.find_account(OPERATOR, "default", "alice")
    assert alice.credentials.cleartext == 'pa ss"word' and alice.simultaneous_use == 2
    assert alice.static_ip == "10.0.0.5"
    assert alice.reply == {"Mikrotik-Rate-Limit": "2M/2M", "Session-Timeout": "3600"}
    bob = await service.find_account(OPERATOR, "default", "bob")
    assert bob.credentials.nt_hash == nt_hash("password") and bob.credentials.password_hash is None
    assert bob.pool == "pool-a"
    carol = await service.find_account(OPERATOR, "default", "carol")
    assert carol.status == "suspended" and carol.credentials.cleartext == "c#not-a-comment"
    dave = await service.find_account(OPERATOR, "isp2", "dave")
    assert dave.reply == {"Reply-Message": "Hello, dave"}

    exported = render_users(await service.export_accounts(OPERATOR, None), with_realm=True)
    entries, errors = parse_users(exported)
    assert not errors and [e.name for e in entries] == ["alice", "bob", "carol", "dave@isp2"]
    # into an empty copy: same accounts, and the same file again
    await service.delete_account(OPERATOR, alice.id)
    again = render_users(await service.export_accounts(OPERATOR, None), with_realm=True)
    assert "alice" not in again and "carol\tCleartext-Password" in again
    only_isp2 = render_users(await service.export_accounts(OPERATOR, "isp2"), with_realm=False)
    assert only_isp2.splitlines()[2] == 'dave\tCleartext-Password := "d"'


async def test_round_trip_into_a_fresh_realm(service: Service) -> None:
    await service.create_realm(OPERATOR, "src", allow_chap=True)
    await service.create_realm(OPERATOR, "dst", allow_chap=True)
    source = GOOD.replace("dave@isp2", "dave")
    assert (await import_users(service, OPERATOR, source, realm="src", partial=False))["imported"] == 4
    first = render_users(await service.export_accounts(OPERATOR, "src"), with_realm=False)
    assert (await import_users(service, OPERATOR, first, realm="dst", partial=False))["imported"] == 4
    second = render_users(await service.export_accounts(OPERATOR, "dst"), with_realm=False)
    assert first == second


async def test_errors_name_each_line_and_import_nothing(service: Service) -> None:
    result = await import_users(service, OPERATOR, BAD, realm=None, partial=False)
    lines = [(e["line"], e["message"]) for e in result["errors"]]
    assert [n for n, _ in lines] == [2, 5, 6, 8, 9, 10], lines
    assert "DEFAULT" in lines[0][1] and "Group" in lines[2][1] and "X-Unknown-Thing" in lines[3][1]
    assert "also on line 1" in lines[5][1]
    assert result["imported"] == 0
    assert (await service.list_accounts(OPERATOR)).items == []

    partial = await import_users(service, OPERATOR, BAD, realm=None, partial=True)
    assert partial["imported"] == 2  # alice and bob
    names = {a.username for a in (await service.list_accounts(OPERATOR)).items}
    assert names == {"alice", "bob"}
    # a second import reports the now-existing names by line
    again = await import_users(service, OPERATOR, "alice Cleartext-Password := \"x\"\n", realm=None,
                               partial=False)
    assert again["errors"] == [{"line": 1, "message": "username alice exists in realm default"}]
