"""A private OpenLDAP slapd for the tests: generated slapd.conf, mdb database in a temp
folder, a free port, run as the current user; a base, ou=people and two users added with
ldapadd."""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.servers import free_port

SUFFIX = "dc=isp,dc=example"
ROOT_DN = f"cn=admin,{SUFFIX}"
ROOT_PW = "admin-secret"
SLAPD = "/usr/sbin/slapd"

BASE_LDIF = f"""dn: {SUFFIX}
objectClass: dcObject
objectClass: organization
dc: isp
o: ISP

dn: ou=people,{SUFFIX}
objectClass: organizationalUnit
ou: people

dn: ou=mail,{SUFFIX}
objectClass: organizationalUnit
ou: mail

dn: uid=alice,ou=people,{SUFFIX}
objectClass: inetOrgPerson
uid: alice
cn: Alice
sn: Example
userPassword: alice-pw

dn: uid=bob\\2Bco,ou=people,{SUFFIX}
objectClass: inetOrgPerson
uid: bob+co
cn: Bob
sn: Example
userPassword: bob-pw
"""


@dataclass
class Slapd:
    url: str
    folder: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with (self.folder / "slapd.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [SLAPD, "-f", str(self.folder / "slapd.conf"), "-h", self.url, "-d", "0"],
                stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            probe = subprocess.run(["ldapsearch", "-x", "-H", self.url, "-b", "", "-s", "base",
                                    "-LLL", "(objectClass=*)"], capture_output=True)
            if probe.returncode == 0:
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"slapd exited: {(self.folder / 'slapd.log').read_text()}")
            time.sleep(0.1)
        raise TimeoutError("slapd did not answer")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def search(self, base: str, flt: str = "(objectClass=*)", *attrs: str) -> str:
        return subprocess.run(["ldapsearch", "-x", "-H", self.url, "-D", ROOT_DN, "-w", ROOT_PW,
                               "-b", base, "-LLL", flt, *attrs], capture_output=True, text=True).stdout


@contextlib.contextmanager
def slapd(folder: Path) -> Iterator[Slapd]:
    (folder / "db").mkdir(parents=True)
    port = free_port()
    schema = "/etc/ldap/schema"
    (folder / "slapd.conf").write_text(f"""
include {schema}/core.schema
include {schema}/cosine.schema
include {schema}/inetorgperson.schema
include {schema}/nis.schema
pidfile {folder}/slapd.pid
argsfile {folder}/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
maxsize 10485760
suffix "{SUFFIX}"
rootdn "{ROOT_DN}"
rootpw {ROOT_PW}
directory {folder}/db
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read
""")
    server = Slapd(f"ldap://127.0.0.1:{port}/", folder, port)
    server.start()
    try:
        subprocess.run(["ldapadd", "-x", "-H", server.url, "-D", ROOT_DN, "-w", ROOT_PW],
                       input=BASE_LDIF.encode(), check=True, capture_output=True)
        yield server
    finally:
        server.stop()
