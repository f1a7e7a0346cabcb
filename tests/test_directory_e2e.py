"""Central identity, for real: a Samba AD DC over LDAPS, the project's lifecycle on a node, SSSD, sshd, sudo.

Design. One holder process (``unshare --mount --net``) gives a private mount and network namespace (only
``lo``, up) with overlayfs over /etc, /var/lib and /opt (the step's state and its timer's stable copy land
in the upper dirs) and scratch directories bound over everything else the run writes: /run, /var/log,
/home, /root (as in test_login_host_keys_e2e), plus copies of /var/lib/sss, /var/lib/pam,
/var/cache/debconf (pam-auth-update's state) and /usr/share/pam-configs, and empty /mnt, /var/lib/samba,
/var/cache/samba, /var/lib/sudo. The node starts "fresh": ``sss`` is taken out of its nsswitch.conf and the
sss PAM profile is disabled, so the step has to set both up itself.

In that namespace: a Samba AD DC (``samba-tool domain provision``, TLS with a test CA made here, server
certificate for ``ldaps.corp.test`` and 127.0.0.1, named in the overlay's /etc/hosts), with the bind user
``ReadOnly``, ``alice`` in ClusterAdmin, ``bob``, ``erin`` and ``frank`` in ClusterDev, ``dave`` in
ClusterDevInterns (a member of ClusterDev: nested), ``carol`` in neither, each with an ed25519 key in
``altSecurityIdentities``; a local admin ``ubuntu`` with its own authorized_keys; the node's real
``/usr/sbin/sshd`` (Debian's sshd_config plus a port snippet). The lifecycle runs as HyperPod runs it
(``bash on_init_complete.sh``, no HP_ROOT), or as the step's timer runs it (the unit's ExecStart and
Environment). platform.json holds the plan-time directory settings only; the connection (LDAPS URI, bind
DN, secret, group DNs, CA) is the SSM parameter the stack writes once the directory is ready.
Stubs on PATH: ``aws`` (tests/directory_stubs.py) serves that parameter and the bind secret from files,
with versions, ParameterNotFound and transient errors; ``systemctl`` logs its argv and really restarts the
daemons in the namespace (sssd: stop by its pidfile, then ``sssd -D --logger=files`` as Debian's unit logs;
ssh: SIGHUP to the node's sshd); ``apt-get`` refuses (the packages must already be installed: nothing may
be installed on the host by a test). Readiness waits use tests/waiting.py: hang guards, never timings.

Nothing on the host changes (checked at the end): every write is in an overlay upper dir or a scratch
dir under tmp_path; every process left in the namespace is stopped by PID, then the holder.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import json
import os
import shutil
import signal
import stat
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.directory_stubs import aws_stub, publish_parameter, secret_version
from tests.test_login_host_keys_e2e import Namespace, run
from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parent.parent
LIFECYCLE = ROOT / "hyperpod_platform" / "lifecycle"
STEP = "50-directory"

REGION = "us-east-1"
SECRET_ID = "arn:aws:secretsmanager:us-east-1:123456789012:secret:hp-dev-ldap-bind-AbCdEf"
REALM, NETBIOS, DOMAIN = "CORP.TEST", "CORP", "corp.test"
BASE = "DC=corp,DC=test"
OU = f"OU=Users,OU=CORP,{BASE}"
LDAPS_HOST = "ldaps.corp.test"
# Characters sssd.conf must carry as they are ('#', ';', an inner space); never printed anywhere.
BIND_PASSWORD = "Bind#Pw;7f3c-9e1d 2aZq!"
WRONG_PASSWORD = "Wrong-Pw-4b8e1c0dXy!"
ROTATED_PASSWORD = "Rot@ted-Pw 93kd;#Zq7"
ADMIN_PASSWORD = "Adm1n-Pass-8c2e4f!"
USER_PASSWORD = "User-Pass-5d7a9b!"
GROUP_DNS = {"ClusterAdmin": f"CN=ClusterAdmin,{OU}", "ClusterDev": f"CN=ClusterDev,{OU}"}
BIND_DN = f"CN=ReadOnly,{OU}"
PARAMETER = "/hyperpod-platform/hp-dev/directory"
HOME_ROOT = "/mnt/fsx/home"  # the test's stand-in for /fsx/home: /mnt is a scratch bind mount here
# platform.json's plan-time directory section (the new contract: no endpoint, DN, secret or CA in it).
DIRECTORY = {
    "domain": DOMAIN,
    "search_base": BASE,
    "bind_user": "ReadOnly",
    "connection_parameter": PARAMETER,
    "allowed_groups_by_role": {
        "controller": ["ClusterAdmin"],
        "login": ["ClusterAdmin", "ClusterDev"],
        "compute": ["ClusterAdmin", "ClusterDev"],
    },
    "sudo_groups": ["ClusterAdmin"],
    "local_groups": ["ubuntu"],
    "default_shell": "/bin/bash",
    "home_dir": f"{HOME_ROOT}/%u",
}
# Directory users: name -> groups (dave's only group is nested in ClusterDev; erin and frank are ClusterDev
# members whose accounts get disabled and expired).
USERS = {
    "alice": ["ClusterAdmin"],
    "bob": ["ClusterDev"],
    "carol": [],
    "dave": ["ClusterDevInterns"],
    "erin": ["ClusterDev"],
    "frank": ["ClusterDev"],
}
LOCAL_ADMIN = "ubuntu"
CONTROLLER_IP, LOGIN_IP, NODE_IP = "10.1.0.10", "10.1.0.20", "10.1.1.30"
SSH_PORT = 2222
RESOURCE_CONFIG = {
    "InstanceGroups": [
        {"Name": "controller", "Instances": [{"CustomerIpAddress": CONTROLLER_IP, "InstanceId": "i-1"}]},
        {"Name": "login", "Instances": [{"CustomerIpAddress": LOGIN_IP, "InstanceId": "i-2"}]},
        {"Name": "gpu", "Instances": [{"CustomerIpAddress": NODE_IP, "InstanceId": "i-3"}]},
    ]
}
GROUPS = {"controller": "controller", "login": "login", "gpu": "compute"}
UNIT = "/etc/systemd/system/hyperpod-directory.service"
TIMER = "/etc/systemd/system/hyperpod-directory.timer"
STATE = "/var/lib/hyperpod-platform/directory.state"
PACKAGES = [
    "sssd",
    "sssd-tools",
    "sssd-ldap",
    "libnss-sss",
    "libpam-sss",
    "ldap-utils",
    "sudo",
    "ldb-tools",
    "samba-ad-dc",
    "samba-ad-provision",
    "openssh-server",
    "openssh-client",
    "openssl",
]
BINARIES = [
    "unshare",
    "nsenter",
    "samba",
    "samba-tool",
    "sssd",
    "sssctl",
    "sss_ssh_authorizedkeys",
    "ldapsearch",
    "sshd",
    "ssh",
    "sudo",
    "visudo",
    "pam-auth-update",
    "dpkg-query",
    "openssl",
]

AWS_STUB = aws_stub(REGION, PARAMETER, SECRET_ID)
# sssctl as SSSD 2.2 has it: config-check knows no --config/--snippet, so it checks only the installed file.
# With SSSCTL_REJECT set, that check fails the way sssctl reports a bad option.
OLD_SSSCTL_STUB = """#!/usr/bin/env bash
if [[ "${1:-}" == config-check ]]; then
  for arg in "$@"; do
    case "${arg}" in
      --help) printf 'Usage: sssctl config-check [OPTIONS...]\\n\\nHelp options:\\n  -?, --help  Show this help message\\n'; exit 0 ;;
      -c | --config* | -s | --snippet*) echo "sssctl: unknown option ${arg}" >&2; exit 1 ;;
    esac
  done
  printf '%s\\n' "sssctl $*" >>"${STUB_CALLS}"
  if [[ -n "${SSSCTL_REJECT:-}" ]]; then
    echo "Issues identified by validators: 1"
    echo "[rule/allowed_domain_options]: Attribute 'default_shel' is not allowed in section 'domain/corp.test'."
    exit 1
  fi
fi
exec /usr/sbin/sssctl "$@"
"""
# No systemd in the namespace: restart the namespace's own daemons, found by their pidfiles in its /run.
SYSTEMCTL_STUB = """#!/usr/bin/env bash
printf '%s\\n' "systemctl $*" >>"${STUB_CALLS}"
stop_sssd() {
  local pid
  pid="$(cat /run/sssd.pid 2>/dev/null)" || return 0
  kill -TERM "${pid}" 2>/dev/null || return 0
  for _ in $(seq 100); do
    kill -0 "${pid}" 2>/dev/null || return 0
    sleep 0.1
  done
  echo "sssd ${pid} did not stop" >&2
  return 1
}
case "$*" in
  "restart sssd")
    stop_sssd || exit 1
    # The test can make sssd fail to come up once (the restart "succeeds", the service is dead).
    if [[ -e "${STUB_CALLS}.break-sssd" ]]; then
      rm -f "${STUB_CALLS}.break-sssd"
      exit 0
    fi
    # As Debian's sssd.service (sssd -i --logger=files), daemonized: logs go to /var/log/sssd.
    sssd -D --logger=files </dev/null >>"${STUB_CALLS}.sssd" 2>&1
    ;;
  "stop sssd") stop_sssd ;;
  "restart ssh") kill -HUP "$(cat /run/sshd.pid)" ;;
  "daemon-reload" | "enable --now hyperpod-directory.timer") ;;
  *) echo "systemctl stub: unexpected: $*" >&2; exit 1 ;;
esac
"""
APT_STUB = """#!/usr/bin/env bash
printf '%s\\n' "apt-get $*" >>"${STUB_CALLS}"
echo "apt-get stub: a test must not install packages on the host" >&2
exit 100
"""
# Samba's SamDB bindings, run with Debian's python3: OUs, groups, users, memberships and SSH keys in one go.
SAMDB_SCRIPT = """
import json, sys
from samba.auth import system_session
from samba.param import LoadParm
from samba.samdb import SamDB
spec = json.load(open(sys.argv[2]))
lp = LoadParm()
lp.load(sys.argv[1])
db = SamDB(url=lp.private_path("sam.ldb"), session_info=system_session(), lp=lp)
base = str(db.domain_dn())
db.create_ou("OU=CORP," + base)
db.create_ou("OU=Users,OU=CORP," + base)
for group in spec["groups"]:
    db.newgroup(group, groupou="OU=Users,OU=CORP")
for user in spec["users"]:
    db.newuser(user["name"], user["password"], userou="OU=Users,OU=CORP")
for group, members in spec["members"].items():
    db.add_remove_group_members(group, members, add_members_operation=True)
for user in spec["users"]:
    if user.get("key"):
        db.modify_ldif("dn: CN=%s,OU=Users,OU=CORP,%s\\nchangetype: modify\\nreplace: altSecurityIdentities\\n"
                       "altSecurityIdentities: %s\\n" % (user["name"], base, user["key"]))
"""


def fail_unless_tools() -> None:
    if os.geteuid() != 0:
        pytest.fail("test_directory_e2e needs root (namespaces, mounts, daemons); run it as root (scripts/test)")
    missing = [b for b in BINARIES if shutil.which(b) is None and not Path("/usr/sbin", b).exists()]
    not_installed = [
        p
        for p in PACKAGES
        if subprocess.run(["dpkg-query", "-W", "-f=${Status}", p], capture_output=True, text=True).stdout
        != "install ok installed"
    ]
    assert not missing and not not_installed, (
        f"missing binaries {missing}, Debian packages not installed {not_installed}: "
        "scripts/test installs scripts/apt-packages.txt as root"
    )
    assert subprocess.run(["/usr/bin/python3", "-c", "import samba.samdb"]).returncode == 0, (
        "Debian's python3 cannot import samba (python3-samba, from samba-ad-provision)"
    )


def new_ssh_key(path: Path, comment: str) -> str:
    """An ed25519 key pair at ``path`` (private, 0600); returns the public key line."""
    key = ed25519.Ed25519PrivateKey.generate()
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption())
    )
    path.chmod(0o600)
    return (
        key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
        + f" {comment}"
    )


def new_ca(name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return key, cert


def new_server_cert(ca_key, ca_cert: x509.Certificate) -> tuple[bytes, bytes]:
    """A server certificate for LDAPS_HOST and 127.0.0.1 issued by the CA: (cert PEM, key PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, LDAPS_HOST)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(LDAPS_HOST), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    return (
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        ),
    )


def tree_snapshot(root: Path) -> dict[str, tuple]:
    """Every path under ``root`` -> (mode, uid, gid, sha256 of a file's content or a link's target)."""
    result = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        if stat.S_ISREG(st.st_mode):
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        elif stat.S_ISLNK(st.st_mode):
            digest = "-> " + os.readlink(path)
        else:
            digest = None
        result[path.relative_to(root).as_posix()] = (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, digest)
    return result


HOST_PATHS = [
    "/etc",
    "/var/lib/pam",
    "/var/lib/sss",
    "/var/cache/debconf",
    "/usr/share/pam-configs",
    "/var/lib/samba",
    "/var/lib/sudo",
    "/mnt",
]


def host_state() -> dict:
    """What the test could conceivably touch on the host, to compare before and after."""
    state = {p: tree_snapshot(Path(p)) for p in HOST_PATHS}
    state["absent"] = {p: os.path.lexists(p) for p in ("/fsx", "/run/sshd", "/run/sssd.pid", "/etc/sssd/sssd.conf")}
    state["absent"].update(
        {
            p: os.path.lexists(p)
            for p in (
                "/opt/hyperpod-platform",
                "/var/lib/hyperpod-platform",
                "/run/lock/hyperpod-directory.lock",
                UNIT,
                TIMER,
            )
        }
    )
    return state


class Node:
    """The namespace: a Samba DC, a HyperPod node (sshd, later sssd) and an SSH client, all on ``lo``."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.ns = Namespace(tmp / "ns")
        self.scratch = tmp / "ns"
        self.daemons: list[subprocess.Popen] = []
        self.logs: list = []
        try:
            self._setup()
        except BaseException:
            self.close()
            raise

    def _setup(self) -> None:
        tmp = self.tmp
        # The step's own state (/var/lib/hyperpod-platform) and stable copy (/opt/hyperpod-platform) land in
        # overlays' upper dirs; the binds below go on top.
        for target in ("/var/lib", "/opt"):
            name = target.strip("/").replace("/", "-")
            upper, work = self.scratch / f"{name}-upper", self.scratch / f"{name}-work"
            upper.mkdir()
            work.mkdir()
            self.ns.run(
                [
                    "mount",
                    "-t",
                    "overlay",
                    "overlay",
                    "-o",
                    f"lowerdir={target},upperdir={upper},workdir={work}",
                    target,
                ]
            )
        for source, target in (
            ("/var/lib/sss", "var-lib-sss"),
            ("/var/lib/pam", "var-lib-pam"),
            ("/var/cache/debconf", "var-cache-debconf"),
            ("/usr/share/pam-configs", "usr-share-pam-configs"),
        ):
            run(["cp", "-a", source, str(self.scratch / target)])
            self.ns.run(["mount", "--bind", str(self.scratch / target), source])
        for sub in ("db", "mc"):  # a fresh SSSD cache
            for f in (self.scratch / "var-lib-sss" / sub).iterdir():
                shutil.rmtree(f) if f.is_dir() else f.unlink()
        for target in ("/mnt", "/var/lib/samba", "/var/cache/samba", "/var/lib/sudo"):
            source = self.scratch / target.strip("/").replace("/", "-")
            source.mkdir(mode=0o755)
            self.ns.run(["mount", "--bind", str(source), target])
        for name in ("sssd", "samba"):  # the packages' log directories, where the daemons write
            host_dir = Path("/var/log", name)
            log_dir = self.scratch / "var-log" / name
            log_dir.mkdir()
            log_dir.chmod(stat.S_IMODE(host_dir.stat().st_mode))
            os.chown(log_dir, host_dir.stat().st_uid, host_dir.stat().st_gid)
        self.bin = tmp / "bin"
        self.bin.mkdir()
        for name, body in (("aws", AWS_STUB), ("systemctl", SYSTEMCTL_STUB), ("apt-get", APT_STUB)):
            (self.bin / name).write_text(body, encoding="utf-8")
            (self.bin / name).chmod(0o755)
        self.calls_log = tmp / "calls.log"
        self.run_tmp = tmp / "tmpdir"
        self.run_tmp.mkdir()
        self.outputs: list[str] = []

    def path(self, path: str) -> Path:
        return self.ns.path(path)

    def run(self, cmd: list[str], **kw) -> subprocess.CompletedProcess:
        return self.ns.run(cmd, **kw)

    def start(self, name: str, cmd: list[str]) -> subprocess.Popen:
        log = (self.tmp / f"{name}.log").open("w")
        self.logs.append(log)
        proc = self.ns.popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        self.daemons.append(proc)
        return proc

    # --- the directory ---------------------------------------------------------------------------------

    def make_fresh_node(self) -> None:
        """A node where the SSSD packages are installed but not configured: no ``sss`` in nsswitch.conf,
        the sss PAM profile off (Debian's plain mkhomedir on); a local admin with its own key; /etc/hosts names
        the LDAPS endpoint."""
        nsswitch = self.path("/etc/nsswitch.conf")
        lines = []
        for line in nsswitch.read_text().splitlines():
            if ":" in line and not line.lstrip().startswith("#"):
                db, sources = line.split(":", 1)
                kept = [s for s in sources.split() if s != "sss"]
                if not kept:
                    continue
                line = f"{db}:{' ' * max(1, 15 - len(db))}{' '.join(kept)}"
            lines.append(line)
        nsswitch.write_text("\n".join(lines) + "\n")
        # Debian's own mkhomedir profile on (umask 0022, as older setup scripts leave it): ours must replace it.
        self.run(
            ["pam-auth-update", "--disable", "sss", "--enable", "mkhomedir"],
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
        assert "pam_sss" not in self.path("/etc/pam.d/common-account").read_text()
        assert "pam_mkhomedir.so" in self.path("/etc/pam.d/common-session").read_text()
        with self.path("/etc/hosts").open("a") as f:
            f.write(f"127.0.0.1 {LDAPS_HOST}\n")
        # The local admin, replacing any of that name the host has, with a uid and gid free on the host.
        used = {
            line.split(":")[2]
            for path in ("/etc/passwd", "/etc/group")
            for line in self.path(path).read_text().splitlines()
            if line.count(":") >= 2
        }
        uid = next(i for i in range(1500, 60000) if str(i) not in used)
        self.local_uid = uid
        for path, line in (
            ("/etc/passwd", f"{LOCAL_ADMIN}:x:{uid}:{uid}::/home/{LOCAL_ADMIN}:/bin/bash"),
            ("/etc/shadow", f"{LOCAL_ADMIN}:*:19000:0:99999:7:::"),
            ("/etc/group", f"{LOCAL_ADMIN}:x:{uid}:"),
        ):
            kept = [ln for ln in self.path(path).read_text().splitlines() if ln.split(":")[0] != LOCAL_ADMIN]
            self.path(path).write_text("\n".join([*kept, line]) + "\n")
        ssh = self.path(f"/home/{LOCAL_ADMIN}/.ssh")
        ssh.mkdir(parents=True, mode=0o700)
        self.keys = {name: self.tmp / f"id_{name}" for name in [*USERS, LOCAL_ADMIN, "stranger"]}
        self.public = {name: new_ssh_key(path, name) for name, path in self.keys.items()}
        (ssh / "authorized_keys").write_text(self.public[LOCAL_ADMIN] + "\n")
        for p in (ssh.parent, ssh, ssh / "authorized_keys"):
            os.chown(p, self.local_uid, self.local_uid)
        (ssh / "authorized_keys").chmod(0o600)
        self.path("/etc/ssh/sshd_config.d/90-test-node.conf").write_text(
            f"# test only: this node's address\nPort {SSH_PORT}\nListenAddress 127.0.0.1\n"
        )

    def start_directory(self) -> None:
        """Provision and start the Samba AD DC with LDAPS from the test CA; add the users and groups."""
        self.provision_directory()
        self.start_samba()

    def provision_directory(self) -> None:
        """The Samba AD DC's database, TLS material, users and groups (not started: no LDAPS yet)."""
        tls = self.tls = self.tmp / "tls"
        tls.mkdir(mode=0o700)
        ca_key, ca_cert = new_ca("HyperPod test LDAPS CA")
        self.ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
        cert, key = new_server_cert(ca_key, ca_cert)
        (tls / "ca.pem").write_bytes(self.ca_pem)
        (tls / "server.pem").write_bytes(cert)
        (tls / "server.key").write_bytes(key)
        (tls / "server.key").chmod(0o600)
        dc = self.tmp / "dc"
        self.run(
            [
                "samba-tool",
                "domain",
                "provision",
                f"--targetdir={dc}",
                f"--realm={REALM}",
                f"--domain={NETBIOS}",
                "--server-role=dc",
                "--dns-backend=NONE",
                "--use-rfc2307",
                f"--adminpass={ADMIN_PASSWORD}",
                "--host-name=dc1",
                "--option=tls enabled = yes",
                f"--option=tls certfile = {tls / 'server.pem'}",
                f"--option=tls keyfile = {tls / 'server.key'}",
                f"--option=tls cafile = {tls / 'ca.pem'}",
            ]
        )
        self.smb_conf = dc / "etc" / "smb.conf"
        spec = {
            "groups": ["ClusterAdmin", "ClusterDev", "ClusterDevInterns"],
            "users": [
                {"name": "ReadOnly", "password": BIND_PASSWORD},
                *({"name": name, "password": USER_PASSWORD, "key": self.public[name]} for name in USERS),
            ],
            "members": {
                "ClusterAdmin": ["alice"],
                "ClusterDev": ["bob", "erin", "frank", "ClusterDevInterns"],
                "ClusterDevInterns": ["dave"],
            },
        }
        (self.tmp / "directory.json").write_text(json.dumps(spec))
        (self.tmp / "samdb.py").write_text(SAMDB_SCRIPT)
        self.run(["/usr/bin/python3", str(self.tmp / "samdb.py"), str(self.smb_conf), str(self.tmp / "directory.json")])
        self.sam_ldb = dc / "private" / "sam.ldb"

    def samba_tool(self, *args: str) -> None:
        """An administrator's change in the directory (straight into the DC's database)."""
        self.run(["samba-tool", *args, "-H", str(self.sam_ldb), "-s", str(self.smb_conf)])

    def start_samba(self) -> None:
        tls = self.tls
        self.samba = self.start(
            "samba",
            [
                "samba",
                "--foreground",
                "--no-process-group",
                "--debug-stdout",
                "-M",
                "single",
                "-s",
                str(self.smb_conf),
                "--option=server services = ldap",
            ],
        )
        # Ready when a bind over LDAPS with the test CA works (ldapwhoami cannot tell: Samba has no WhoAmI).
        pw = self.tmp / "bind-password"
        pw.write_text(BIND_PASSWORD)
        pw.chmod(0o600)
        env = {**os.environ, "LDAPTLS_CACERT": str(tls / "ca.pem"), "LDAPTLS_REQCERT": "hard"}
        last = {}

        def bound() -> bool:
            assert self.samba.poll() is None, f"samba exited:\n{(self.tmp / 'samba.log').read_text()[-3000:]}"
            last["probe"] = self.run(
                [
                    "ldapsearch",
                    "-x",
                    "-H",
                    f"ldaps://{LDAPS_HOST}",
                    "-D",
                    BIND_DN,
                    "-y",
                    str(pw),
                    "-s",
                    "base",
                    "-b",
                    BIND_DN,
                    "dn",
                ],
                env=env,
                check=False,
            )
            return last["probe"].returncode == 0

        wait_for(bound, "Samba's LDAPS bind", interval=0.2, detail=lambda: last["probe"].stderr)
        pw.unlink()

    def start_sshd(self) -> None:
        self.sshd = self.start("sshd", ["/usr/sbin/sshd", "-D", "-e"])

        def answers() -> bool:
            assert self.sshd.poll() is None, (self.tmp / "sshd.log").read_text()
            return (
                self.run(["ssh-keyscan", "-T", "1", "-p", str(SSH_PORT), "127.0.0.1"], check=False).returncode == 0
                and self.path("/run/sshd.pid").exists()
            )

        wait_for(answers, "the node's sshd", interval=0.05)

    # --- the lifecycle ---------------------------------------------------------------------------------

    def write_bundle(self, directory: dict) -> Path:
        """The lifecycle bundle as HyperPod downloads it: lifecycle/ plus generated/platform.json."""
        bundle = self.tmp / "bundle"
        if not bundle.exists():
            shutil.copytree(LIFECYCLE, bundle, ignore=shutil.ignore_patterns("__pycache__", "generated"))
            (bundle / "generated").mkdir()
            (self.tmp / "resource_config.json").write_text(json.dumps(RESOURCE_CONFIG))
        platform = {
            "schema_version": 1,
            "cluster_name": "hp-dev",
            "region": REGION,
            "fsx": None,
            "login": None,
            "groups": GROUPS,
            "directory": directory,
        }
        (bundle / "generated" / "platform.json").write_text(json.dumps(platform, indent=2))
        return bundle

    def connection(self, **changes) -> dict:
        """The connection parameter's value as the stack writes it once the directory is ready."""
        return {
            "schema": 1,
            "ldaps_uri": f"ldaps://{LDAPS_HOST}",
            "bind_dn": BIND_DN,
            "bind_secret_id": SECRET_ID,
            "group_dns": GROUP_DNS,
            "ca_cert_pem": self.ca_pem.decode(),
            **changes,
        }

    def publish(self, value: dict | None, bump: bool = False) -> int | None:
        """The stack writes (or, with None, has not yet written) the connection parameter."""
        return publish_parameter(self.tmp / "parameter.json", value, bump=bump)

    def set_secret(self, password: str) -> None:
        (self.tmp / "secret-string").write_text(password)

    def env(self, **extra_env: str) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HP_", "AWS_", "LDAP"))}
        flaky = self.tmp / "flaky"
        flaky.mkdir(exist_ok=True)
        env.update(
            PATH=f"{self.bin}{os.pathsep}{os.environ['PATH']}",
            STUB_CALLS=str(self.calls_log),
            AWS_STUB_SECRET=str(self.tmp / "secret-string"),
            AWS_STUB_PARAMETER=str(self.tmp / "parameter.json"),
            AWS_STUB_FLAKY_DIR=str(flaky),
            TMPDIR=str(self.run_tmp),
            HP_DIRECTORY_RETRY_DELAY="0",
            **extra_env,
        )
        return env

    def lifecycle(
        self,
        password: str = BIND_PASSWORD,
        connection: dict | None = None,
        directory: dict | None = None,
        node_ip: str = NODE_IP,
        **extra_env: str,
    ) -> subprocess.CompletedProcess:
        """``bash on_init_complete.sh`` inside the node, as HyperPod runs it (no HP_ROOT); output merged.
        The connection parameter is published first (``connection`` overrides its keys)."""
        self.publish(self.connection(**(connection or {})))
        return self.lifecycle_as_is(password, directory, node_ip, **extra_env)

    def lifecycle_as_is(
        self, password: str = BIND_PASSWORD, directory: dict | None = None, node_ip: str = NODE_IP, **extra_env: str
    ) -> subprocess.CompletedProcess:
        """The lifecycle with the connection parameter left as it is (possibly not there at all)."""
        bundle = self.write_bundle({**DIRECTORY, **(directory or {})})
        self.set_secret(password)
        env = self.env(HP_NODE_IP=node_ip, HP_RESOURCE_CONFIG=str(self.tmp / "resource_config.json"), **extra_env)
        result = self.run(
            ["bash", str(bundle / "on_init_complete.sh")],
            env=env,
            check=False,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.outputs.append(result.stdout)
        return result

    def timer_run(self, **extra_env: str) -> subprocess.CompletedProcess:
        """What the timer does: the service's ExecStart, with its Environment, as written by the step."""
        unit = self.path(UNIT).read_text().splitlines()
        unit_env = dict(line.split("=", 2)[1:] for line in unit if line.startswith("Environment="))
        exec_start = next(line.split("=", 1)[1] for line in unit if line.startswith("ExecStart="))
        result = self.run(
            exec_start.split(),
            env={**self.env(**extra_env), **unit_env},
            check=False,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.outputs.append(result.stdout)
        return result

    def state(self) -> str:
        return self.path(STATE).read_text()

    def calls(self) -> list[str]:
        return self.calls_log.read_text().splitlines() if self.calls_log.exists() else []

    def snapshot(self, state: bool = True, copy: bool = True) -> dict[str, dict]:
        """The node's files the step may write: /etc (the overlay's upper dir), the PAM profiles and state,
        the home root, /var/lib and /opt (overlays' upper dirs): path -> (mode, uid, gid, sha256). Without
        ``state``, the step's state file (the versions it applied) is left out; without ``copy``, the timer's
        stable copy of the bundle (/opt/hyperpod-platform: it follows the latest bundle, applied or not)."""
        snap = {
            name: tree_snapshot(self.scratch / name)
            for name in ("etc-upper", "usr-share-pam-configs", "var-lib-pam", "mnt", "var-lib-upper", "opt-upper")
        }
        if not state:
            snap["var-lib-upper"].pop(STATE.removeprefix("/var/lib/"), None)
        if not copy:
            snap.pop("opt-upper")
        return snap

    def identity_snapshot(self) -> dict[str, dict]:
        """The snapshot without the timer, its stable copy, the state and the other steps' files: the node's
        identity as such."""
        snap = self.snapshot(state=False)
        snap["opt-upper"] = {}
        for unit in (UNIT, TIMER):
            snap["etc-upper"].pop(unit.removeprefix("/etc/"), None)
        for name in list(snap["etc-upper"]):  # and step 10's log rotation
            if name in ("systemd", "systemd/system", "logrotate.d", "logrotate.d/hyperpod-platform"):
                snap["etc-upper"].pop(name)
        return snap

    # --- checks ----------------------------------------------------------------------------------------

    def ssh(self, user: str, key: str | None = None, command: str = "id -un") -> subprocess.CompletedProcess:
        return self.run(
            [
                "ssh",
                "-F",
                "/dev/null",
                "-o",
                "BatchMode=yes",
                "-o",
                "IdentitiesOnly=yes",
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
                "-o",
                "LogLevel=ERROR",
                "-o",
                "ConnectTimeout=10",
                "-i",
                str(self.keys[key or user]),
                "-p",
                str(SSH_PORT),
                f"{user}@127.0.0.1",
                command,
            ],
            check=False,
        )

    def login_with_sudo(self, user: str) -> subprocess.CompletedProcess:
        return self.ssh(user, command="id -un; sudo -n true; echo sudo=$?")

    def user_checks(self, user: str) -> subprocess.CompletedProcess:
        return self.run(
            ["sssctl", "user-checks", user, "-s", "sshd", "-a", "acct"],
            check=False,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )

    def all_logs(self) -> bytes:
        """Every file under the namespace's /var/log, plus the daemons' own output."""
        data = b""
        daemons_output = [*self.tmp.glob("*.log"), *self.tmp.glob("calls.log.*")]
        for path in [*sorted((self.scratch / "var-log").rglob("*")), *daemons_output]:
            if path.is_file():
                data += path.read_bytes()
        return data

    # --- teardown ----------------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop every process left in the namespace by PID (daemonized sssd included), then the holder."""
        if self.ns is None:
            return
        for proc in self.daemons:
            if proc.poll() is None:
                proc.terminate()
        own = os.readlink(f"/proc/{self.ns.pid}/ns/mnt")

        def inside() -> list[int]:
            pids = []
            for entry in Path("/proc").iterdir():
                if entry.name.isdigit() and int(entry.name) != self.ns.pid:
                    try:
                        if os.readlink(entry / "ns" / "mnt") == own:
                            pids.append(int(entry.name))
                    except OSError:
                        pass
            return pids

        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in inside():
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            for proc in self.daemons:
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
            try:  # a grace period before SIGKILL, not a check
                wait_for(lambda: not inside(), "the namespace's processes to stop", limit=5, interval=0.05)
                break
            except TimeoutError:
                pass
        for proc in self.daemons:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=5)
        for log in self.logs:
            log.close()
        self.ns.close()
        self.ns = None


@pytest.fixture
def node(tmp_path: Path):
    fail_unless_tools()
    n = None
    try:
        n = Node(tmp_path)
        yield n
    finally:
        if n is not None:
            n.close()


@pytest.mark.parametrize("directory", ["null", "absent"])
def test_stack_without_directory_leaves_identity_alone(tmp_path: Path, directory: str):
    """``directory: null``: the step says so, exits 0, reads no secret, writes nothing. No such key is a broken
    bundle: the step fails naming it, and reads or writes nothing either."""
    bundle = tmp_path / "bundle"
    shutil.copytree(LIFECYCLE, bundle, ignore=shutil.ignore_patterns("__pycache__", "generated"))
    platform = {
        "schema_version": 1,
        "cluster_name": "hp-dev",
        "region": REGION,
        "fsx": None,
        "login": None,
        "groups": GROUPS,
    }
    if directory == "null":
        platform["directory"] = None
    (bundle / "generated").mkdir()
    (bundle / "generated" / "platform.json").write_text(json.dumps(platform))
    stubs, root = tmp_path / "bin", tmp_path / "root"
    stubs.mkdir()
    root.mkdir()
    for name, body in (("aws", AWS_STUB), ("systemctl", SYSTEMCTL_STUB), ("apt-get", APT_STUB)):
        (stubs / name).write_text(body)
        (stubs / name).chmod(0o755)
    calls = tmp_path / "calls.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HP_", "AWS_"))}
    env.update(
        PATH=f"{stubs}{os.pathsep}{os.environ['PATH']}",
        HP_LIFECYCLE_DIR=str(bundle),
        HP_ROOT=str(root),
        HP_PLATFORM_JSON=str(bundle / "generated" / "platform.json"),
        STUB_CALLS=str(calls),
        HP_LOG_TAG=STEP,
    )
    result = subprocess.run(
        ["bash", str(bundle / "steps" / f"{STEP}.sh")],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=60,
        check=False,
    )
    if directory == "null":
        assert result.returncode == 0, result.stdout
        assert f"[{STEP}] no directory in this stack; identity stays local" in result.stdout
    else:
        assert result.returncode != 0, result.stdout
        assert f"[{STEP}] ERROR: platform.json has no directory" in result.stdout
    assert not calls.exists()
    assert list(root.iterdir()) == []


AWS_CALLS = [
    f"aws ssm get-parameter --name {PARAMETER} --region {REGION} --output json",
    f"aws secretsmanager get-secret-value --region {REGION} --secret-id {SECRET_ID} --output json",
]
TIMER_CALLS = ["systemctl daemon-reload", "systemctl enable --now hyperpod-directory.timer"]


def assert_no_password(node: Node, *texts: str) -> None:
    for password in (BIND_PASSWORD, WRONG_PASSWORD, ROTATED_PASSWORD):
        for text in texts:
            assert password not in text, "the bind password is in the step's output"
        assert password.encode() not in node.all_logs(), "the bind password is in a log file"


def test_directory_users_log_in_through_sssd(node: Node, tmp_path: Path):
    """A node joins the directory: allowed groups log in with their directory keys (nested groups too),
    the SSSD access filter and AllowGroups keep everyone else out, the sudo group has sudo, the local admin
    keeps its access; a second run changes nothing; a wrong bind password or a foreign CA defer and change
    nothing."""
    host_before = host_state()
    node.make_fresh_node()
    node.start_directory()
    node.start_sshd()
    assert node.ssh("alice").returncode == 255, "a directory user got in before the node joined"

    # --- first run -------------------------------------------------------------------------------------
    first = node.lifecycle()
    assert first.returncode == 0, first.stdout
    assert "node in group gpu (compute)" in first.stdout
    assert f"bound to ldaps://{LDAPS_HOST} as CN=ReadOnly,{OU} with the parameter's CA" in first.stdout
    assert "sssd restarted; directory user ReadOnly resolves" in first.stdout
    assert "PAM: sss and hyperpod-mkhomedir (umask 0077) enabled" in first.stdout
    assert (
        f"directory {DOMAIN} configured: on this compute node members of ClusterAdmin ClusterDev may log in, "
        "ClusterAdmin with sudo" in first.stdout
    )
    assert node.calls() == [*TIMER_CALLS, *AWS_CALLS, "systemctl restart sssd", "systemctl restart ssh"]
    first_calls = len(node.calls())
    state = node.state()
    assert state.startswith(f"parameter_version=1\nsecret_version={secret_version(BIND_PASSWORD)}\ninputs="), state
    st = node.path(STATE).stat()
    assert (stat.S_IMODE(st.st_mode), st.st_uid, stat.S_IMODE(node.path(STATE).parent.stat().st_mode)) == (
        0o600,
        0,
        0o700,
    )

    conf = node.path("/etc/sssd/sssd.conf")
    st = conf.stat()
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o600, 0, 0)
    text = conf.read_text()
    assert "ldap_tls_reqcert = hard" in text.splitlines()
    assert "access_provider = ldap" in text.splitlines()
    assert "ldap_tls_cacert = /etc/sssd/certs/hyperpod-ldaps-ca.pem" in text.splitlines()
    assert node.path("/etc/sssd/certs/hyperpod-ldaps-ca.pem").read_bytes() == node.ca_pem
    for db in ("passwd", "group", "shadow"):
        line = next(ln for ln in node.path("/etc/nsswitch.conf").read_text().splitlines() if ln.startswith(db + ":"))
        assert "sss" in line.split(), line
    session = node.path("/etc/pam.d/common-session").read_text().splitlines()
    assert [line.split()[-1] for line in session if "pam_mkhomedir.so" in line] == ["umask=0077"], session
    assert (stat.S_IMODE(node.path("/etc/sudoers.d/hyperpod-directory").stat().st_mode)) == 0o440

    # Identity: users and their groups resolve through SSSD (nested membership included).
    passwd = node.run(["getent", "passwd", "alice"]).stdout.strip().split(":")
    assert passwd[0] == "alice" and passwd[5:] == [f"{HOME_ROOT}/alice", "/bin/bash"], passwd
    assert "(ClusterAdmin)" in node.run(["id", "alice"]).stdout
    assert "(ClusterDev)" in node.run(["id", "bob"]).stdout
    assert "(ClusterDev)" in node.run(["id", "dave"]).stdout
    keys = node.run(["sss_ssh_authorizedkeys", "alice"]).stdout
    assert " ".join(node.public["alice"].split()[:2]) in keys

    # The gate inside SSSD itself (PAM account phase of sshd), independent of sshd's AllowGroups.
    for user, allowed in (("alice", True), ("bob", True), ("dave", True), ("carol", False)):
        check = node.user_checks(user)
        assert ("pam_acct_mgmt: Success" in check.stdout) is allowed, (user, check.stdout)
        assert ("pam_acct_mgmt: Permission denied" in check.stdout) is not allowed, (user, check.stdout)

    # SSH: directory keys for allowed groups, sudo for ClusterAdmin only, local admin unaffected.
    alice = node.login_with_sudo("alice")
    assert (alice.returncode, alice.stdout) == (0, "alice\nsudo=0\n"), alice
    home = node.path(f"{HOME_ROOT}/alice")
    uid = int(passwd[2])
    assert (stat.S_IMODE(home.stat().st_mode), home.stat().st_uid) == (0o700, uid), "home not created private"
    assert (stat.S_IMODE(node.path(HOME_ROOT).stat().st_mode), node.path(HOME_ROOT).stat().st_uid) == (0o755, 0)
    bob = node.login_with_sudo("bob")
    assert (bob.returncode, bob.stdout) == (0, "bob\nsudo=1\n"), bob
    assert "a password is required" in bob.stderr
    dave = node.ssh("dave")
    assert (dave.returncode, dave.stdout) == (0, "dave\n"), dave
    carol = node.ssh("carol")
    assert carol.returncode == 255 and "Permission denied" in carol.stderr, carol
    wrong_key = node.ssh("alice", key="stranger")
    assert wrong_key.returncode == 255 and "Permission denied" in wrong_key.stderr, wrong_key
    admin = node.ssh(LOCAL_ADMIN)
    assert (admin.returncode, admin.stdout) == (0, f"{LOCAL_ADMIN}\n"), admin
    assert node.calls()[first_calls:] == [], "logins must not call anything"

    # --- second run: nothing written, nothing restarted -------------------------------------------------
    before, calls_before = node.snapshot(), node.calls()
    second = node.lifecycle()
    assert second.returncode == 0, second.stdout
    assert (
        f"directory {DOMAIN} already configured (parameter version 1, bind password version "
        f"{secret_version(BIND_PASSWORD)})" in second.stdout
    )
    assert "wrote " not in second.stdout
    assert node.snapshot() == before
    assert [c for c in node.calls()[len(calls_before) :] if c.startswith(("systemctl", "apt-get"))] == []
    assert node.login_with_sudo("alice").stdout == "alice\nsudo=0\n"
    assert node.ssh(LOCAL_ADMIN).returncode == 0

    # --- a wrong bind password (a new secret version): refused before any file changes, deferred -----------
    calls_before = node.calls()
    wrong = node.lifecycle(password=WRONG_PASSWORD)
    assert wrong.returncode == 0, wrong.stdout
    assert f"ERROR: cannot bind to ldaps://{LDAPS_HOST} as CN=ReadOnly,{OU}" in wrong.stdout
    assert "Invalid credentials (49)" in wrong.stdout
    assert (
        f"deferred: the directory at ldaps://{LDAPS_HOST} refuses the bind password ({SECRET_ID}); nothing changed"
        in wrong.stdout
    )
    assert "binding to" not in wrong.stdout, "a refused password must not be retried (account lockout)"
    assert node.snapshot() == before
    assert [c for c in node.calls()[len(calls_before) :] if not c.startswith("aws ")] == []
    assert node.login_with_sudo("alice").stdout == "alice\nsudo=0\n"

    # --- a CA that did not issue the server's certificate: refused the same way ---------------------------
    _, other_ca = new_ca("Some other CA")
    foreign = node.lifecycle(connection={"ca_cert_pem": other_ca.public_bytes(serialization.Encoding.PEM).decode()})
    assert foreign.returncode == 0, foreign.stdout
    assert "server certificate checked against the parameter's ca_cert_pem" in foreign.stdout
    assert "Can't contact LDAP server" in foreign.stdout
    assert "binding to ldaps://ldaps.corp.test failed (attempt 4/5; again in 0 s)" in foreign.stdout
    assert "TLS check: verify error:num=20:unable to get local issuer certificate" in foreign.stdout
    assert (
        f"deferred: the directory at ldaps://{LDAPS_HOST} does not answer over LDAPS with a certificate from the "
        "parameter's CA" in foreign.stdout
    )
    assert node.snapshot() == before
    assert [c for c in node.calls()[len(calls_before) :] if not c.startswith("aws ")] == []
    assert node.ssh("alice").returncode == 0

    # --- sssd does not come back with a new configuration: everything is put back, sssd restarted -------
    calls_before = node.calls()
    (tmp_path / "calls.log.break-sssd").touch()
    broken = node.lifecycle(directory={"default_shell": "/bin/sh"}, HP_SSSD_PROBE_SECONDS="2")
    assert broken.returncode != 0, broken.stdout
    assert "wrote /etc/sssd/sssd.conf" in broken.stdout  # it did try
    assert "the bind user ReadOnly does not resolve (getent -s sss passwd ReadOnly) within 2 s" in broken.stdout
    assert "previous files restored" in broken.stdout
    assert node.snapshot(copy=False) == {k: v for k, v in before.items() if k != "opt-upper"}
    assert [c for c in node.calls()[len(calls_before) :] if not c.startswith("aws ")] == [
        "systemctl restart sssd",
        "systemctl restart sssd",
    ]
    assert node.run(["getent", "passwd", "alice"]).stdout.strip().endswith(":/bin/bash")
    assert node.login_with_sudo("alice").stdout == "alice\nsudo=0\n"

    # --- an sshd_config that does not Include the drop-ins first: refused, files put back ---------------
    main_config = node.path("/etc/ssh/sshd_config")
    original = main_config.read_text()
    main_config.write_text("".join(ln for ln in original.splitlines(True) if not ln.startswith("Include ")))
    unincluded, calls_before = node.snapshot(copy=False), node.calls()
    refused = node.lifecycle(directory={"local_groups": ["ubuntu", "admins"]})
    assert refused.returncode != 0, refused.stdout
    assert "wrote /etc/ssh/sshd_config.d/20-hyperpod-directory.conf" in refused.stdout  # it did try
    assert "must Include /etc/ssh/sshd_config.d/*.conf before any Match block" in refused.stdout
    assert "previous files restored" in refused.stdout
    assert node.snapshot(copy=False) == unincluded
    assert [c for c in node.calls()[len(calls_before) :] if not c.startswith("aws ")] == []
    main_config.write_text(original)
    assert node.ssh("alice").returncode == 0

    # --- an sssctl that cannot check a file before it is installed (SSSD 2.2, Ubuntu 20.04) -----------------
    old_sssctl = node.bin / "sssctl"
    old_sssctl.write_text(OLD_SSSCTL_STUB)
    old_sssctl.chmod(0o755)
    current, calls_before = node.snapshot(), node.calls()
    rejected = node.lifecycle(directory={"default_shell": "/bin/sh"}, SSSCTL_REJECT="1")
    assert rejected.returncode != 0, rejected.stdout
    assert "checking /etc/sssd/sssd.conf in place" in rejected.stdout
    assert (
        "sssctl rejects the rendered sssd.conf: Issues identified by validators: 1 [rule/allowed_domain_options]"
        in rejected.stdout
    )
    assert "previous files restored" in rejected.stdout
    assert node.snapshot(copy=False) == {k: v for k, v in current.items() if k != "opt-upper"}
    assert [c for c in node.calls()[len(calls_before) :] if not c.startswith("aws ")] == ["sssctl config-check"]
    changed = node.lifecycle(directory={"default_shell": "/bin/sh"})
    assert changed.returncode == 0, changed.stdout
    assert "checking /etc/sssd/sssd.conf in place" in changed.stdout
    assert node.run(["getent", "passwd", "alice"]).stdout.strip().endswith(":/bin/sh")
    old_sssctl.unlink()
    back = node.lifecycle()
    assert back.returncode == 0 and "checking" not in back.stdout, back.stdout
    # The same files as before; the state now names the parameter's newer version (the foreign CA bumped it).
    assert node.snapshot(state=False, copy=False) == {
        **{k: v for k, v in current.items() if k != "opt-upper"},
        "var-lib-upper": {k: v for k, v in current["var-lib-upper"].items() if k != STATE.removeprefix("/var/lib/")},
    }
    assert node.snapshot()["opt-upper"] == before["opt-upper"]  # the stable copy follows the bundle
    assert node.state().startswith("parameter_version=3\n"), node.state()
    assert node.login_with_sudo("alice").stdout == "alice\nsudo=0\n"

    # --- the password never shows; no temporary file is left; the host is untouched ----------------------
    lifecycle_log = node.path("/var/log/hyperpod-platform/lifecycle.log").read_text()
    assert "FAILED: step 50-directory" in lifecycle_log
    assert_no_password(node, *node.outputs)
    assert list(node.run_tmp.iterdir()) == [], "temporary files left behind"
    node.close()
    assert host_state() == host_before, "the host changed"


def test_directory_not_ready_defers_then_the_timer_applies_it(node: Node, tmp_path: Path):
    """The cluster does not wait for the directory. With no parameter yet, then with a parameter but LDAPS not
    answering (and one transient error from each AWS call), the step says deferred, exits 0 and changes
    nothing but installing its timer. Once the directory is up, the timer's service (its ExecStart and
    Environment as the step wrote them, HyperPod's bundle gone) applies it and alice logs in. The timer then
    changes nothing while the versions stay; a rotated bind password or a new parameter version re-applies."""
    host_before = host_state()
    node.make_fresh_node()
    node.provision_directory()  # the directory's database exists, but Samba is not started: no LDAPS
    node.start_sshd()
    fresh = node.identity_snapshot()

    # --- no parameter yet: deferred, only the timer installed ---------------------------------------------
    node.publish(None)
    early = node.lifecycle_as_is()
    assert early.returncode == 0, early.stdout
    assert (
        f"[{STEP}] deferred: the directory is not ready: parameter {PARAMETER} does not exist yet; "
        "nothing changed, hyperpod-directory.timer tries again in a few minutes" in early.stdout
    )
    assert "all steps done" in early.stdout
    assert node.identity_snapshot() == fresh
    assert node.calls() == [*TIMER_CALLS, AWS_CALLS[0]]
    assert node.path(UNIT).is_file() and node.path(TIMER).is_file()
    assert not node.path(STATE).exists()

    # --- the parameter exists, LDAPS does not answer: retried, then deferred; nothing changes at all -------
    everything, calls = node.snapshot(), len(node.calls())
    down = node.lifecycle(AWS_STUB_FLAKY="ssm secretsmanager")
    assert down.returncode == 0, down.stdout
    assert (
        f"reading the directory parameter {PARAMETER} failed (attempt 1/5; again in 0 s): "
        "An error occurred (ThrottlingException)" in down.stdout
    )
    assert f"reading the bind password {SECRET_ID} failed (attempt 1/5; again in 0 s): Could not connect" in down.stdout
    assert f"binding to ldaps://{LDAPS_HOST} failed (attempt 4/5; again in 0 s)" in down.stdout
    assert "Can't contact LDAP server" in down.stdout
    assert (
        f"deferred: the directory at ldaps://{LDAPS_HOST} does not answer over LDAPS with a certificate from the "
        "parameter's CA (ldap_sasl_bind(SIMPLE): Can't contact LDAP server (-1)" in down.stdout
    )
    assert node.snapshot() == everything
    assert [c for c in node.calls()[calls:] if not c.startswith("aws ")] == []
    assert node.ssh("alice").returncode == 255
    assert node.ssh(LOCAL_ADMIN).returncode == 0

    # --- the directory is up: the timer's run applies it, from the stable copy --------------------------------
    node.start_samba()
    shutil.rmtree(tmp_path / "bundle")  # HyperPod's bundle directory is temporary
    calls = len(node.calls())
    applied = node.timer_run()
    assert applied.returncode == 0, applied.stdout
    assert f"[{STEP}] directory {DOMAIN} configured: on this compute node" in applied.stdout
    assert node.calls()[calls:] == [*AWS_CALLS, "systemctl restart sssd", "systemctl restart ssh"]
    assert node.login_with_sudo("alice").stdout == "alice\nsudo=0\n"
    assert node.ssh("bob").returncode == 0
    assert node.state().startswith(f"parameter_version=1\nsecret_version={secret_version(BIND_PASSWORD)}\n")

    # --- the timer again, same versions: nothing -------------------------------------------------------------
    everything, calls = node.snapshot(), len(node.calls())
    idle = node.timer_run()
    assert idle.returncode == 0, idle.stdout
    assert (
        f"already configured (parameter version 1, bind password version {secret_version(BIND_PASSWORD)})"
        in idle.stdout
    )
    assert "wrote" not in idle.stdout
    assert node.snapshot() == everything
    assert node.calls()[calls:] == AWS_CALLS

    # --- the bind password is rotated (in the directory, then a new secret version): re-applied ------------------
    node.samba_tool("user", "setpassword", "ReadOnly", f"--newpassword={ROTATED_PASSWORD}")
    node.set_secret(ROTATED_PASSWORD)
    calls = len(node.calls())
    rotated = node.timer_run()
    assert rotated.returncode == 0, rotated.stdout
    assert (
        f"applying parameter {PARAMETER} version 1, bind password version {secret_version(ROTATED_PASSWORD)}"
        in rotated.stdout
    )
    assert "wrote /etc/sssd/sssd.conf" in rotated.stdout
    assert node.calls()[calls:] == [*AWS_CALLS, "systemctl restart sssd"]
    assert node.state().startswith(f"parameter_version=1\nsecret_version={secret_version(ROTATED_PASSWORD)}\n")
    assert "(ClusterDev)" in node.run(["id", "bob"]).stdout  # sssd binds with the new password
    assert node.login_with_sudo("alice").stdout == "alice\nsudo=0\n"

    # --- a new parameter version (here the same value, rewritten by the stack): re-applied, nothing to change ---
    assert node.publish(node.connection(), bump=True) == 2
    everything, calls = node.snapshot(state=False), len(node.calls())
    republished = node.timer_run()
    assert republished.returncode == 0, republished.stdout
    assert f"applying parameter {PARAMETER} version 2" in republished.stdout
    assert f"bound to ldaps://{LDAPS_HOST}" in republished.stdout
    assert f"directory {DOMAIN} already configured (its files were up to date)" in republished.stdout
    assert node.snapshot(state=False) == everything
    assert node.calls()[calls:] == AWS_CALLS
    assert node.state().startswith("parameter_version=2\n")

    assert_no_password(node, *node.outputs)
    assert list(node.run_tmp.iterdir()) == [], "temporary files left behind"
    node.close()
    assert host_state() == host_before, "the host changed"


def test_allow_list_follows_the_role_and_ad_refuses_disabled_and_expired_accounts(node: Node):
    """allowed_groups_by_role: on a controller only ClusterAdmin gets in (bob, ClusterDev, is refused by SSSD
    itself, not only by sshd); on a login node ClusterDev gets in too, without sudo. An account disabled or
    expired in AD is refused although its group is allowed and its key is right."""
    node.make_fresh_node()
    node.start_directory()
    node.start_sshd()

    controller = node.lifecycle(node_ip=CONTROLLER_IP)
    assert controller.returncode == 0, controller.stdout
    assert "node in group controller (controller)" in controller.stdout
    assert "on this controller node members of ClusterAdmin may log in, ClusterAdmin with sudo" in controller.stdout
    assert node.login_with_sudo("alice").stdout == "alice\nsudo=0\n"
    bob = node.ssh("bob")
    assert bob.returncode == 255 and "Permission denied" in bob.stderr, bob
    assert "pam_acct_mgmt: Permission denied" in node.user_checks("bob").stdout
    assert "pam_acct_mgmt: Success" in node.user_checks("alice").stdout

    login = node.lifecycle(node_ip=LOGIN_IP)
    assert login.returncode == 0, login.stdout
    assert "on this login node members of ClusterAdmin ClusterDev may log in, ClusterAdmin with sudo" in login.stdout
    bob = node.login_with_sudo("bob")
    assert (bob.returncode, bob.stdout) == (0, "bob\nsudo=1\n"), bob
    assert node.login_with_sudo("alice").stdout == "alice\nsudo=0\n"
    for user in ("erin", "frank"):  # ClusterDev members whose accounts are still good
        assert node.ssh(user).stdout == f"{user}\n", user

    # An administrator disables erin's account and frank's expired yesterday; the cache is flushed rather than
    # waited out. Not --days=0: that sets accountExpires to the current whole second, and SSSD (ad policy)
    # only refuses once its clock, in whole seconds, is past accountExpires: a check within that same second
    # lets the account in.
    node.samba_tool("user", "disable", "erin")
    node.samba_tool("user", "setexpiry", "frank", "--days=-1")
    node.run(["sss_cache", "-E"])
    for user in ("erin", "frank"):
        assert "(ClusterDev)" in node.run(["id", user]).stdout, user  # still resolves, still in an allowed group
        refused = node.ssh(user)
        assert (refused.returncode, refused.stdout) == (255, ""), (user, refused)
        # The key was right; SSSD's account check (PAM account phase) said no.
        assert f"Access denied for user {user} by PAM account configuration" in (node.tmp / "sshd.log").read_text()
        check = node.user_checks(user).stdout
        assert "pam_acct_mgmt: Success" not in check and "pam_acct_mgmt:" in check, (user, check)
    assert node.ssh("bob").stdout == "bob\n"
