"""Helpers of steps/50-directory.sh that are easier in Python than in bash: reading and checking the
directory settings (platform.json and the SSM connection parameter), the bind secret, and rendering files.

Every check that fails exits non-zero with one line on stderr naming the key at fault. Values are printed
as "key<TAB>value" lines (lists space-separated: their items are checked to be plain names). The bind
password is only ever written to a 0600 file, never printed.

Usage:
  directory.py platform PLATFORM_JSON ROLE
  directory.py parameter GET_PARAMETER_OUTPUT PARAMETER_NAME "ALLOWED GROUPS" CA_OUT
  directory.py secret GET_SECRET_VALUE_OUTPUT SECRET_ID PASSWORD_OUT
  directory.py filter GROUP_DN...
  directory.py sssd-conf OUT PASSWORD_FILE DOMAIN URI BASE BIND_DN CA FILTER HOME SHELL
  directory.py nsswitch SRC OUT
"""

import json
import os
import re
import sys

import platform_json

NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")
SCHEMA = 1


class Bad(Exception):
    pass


def single_line(where: str, value) -> str:
    if not isinstance(value, str) or not value:
        raise Bad(f"{where} must be a non-empty string, not {value!r}")
    if any(c in value for c in "\r\n\t") or any(ord(c) < 32 for c in value):
        raise Bad(f"{where} is not a single line")
    return value


def names(where: str, value, allow_empty: bool = True) -> list[str]:
    if not isinstance(value, list):
        raise Bad(f"{where} must be a list of group names, not {value!r}")
    for item in value:
        if not isinstance(item, str) or not NAME.match(item):
            raise Bad(f"{where}: {item!r} is not a plain group name")
    if not value and not allow_empty:
        raise Bad(f"{where} is empty: nobody from the directory could log in")
    return value


def required(section: dict, key: str, where: str):
    if key not in section or section[key] is None:
        raise Bad(f"{where}.{key} is missing")
    return section[key]


def platform(path: str, role: str) -> None:
    try:
        data = platform_json.load(path)
    except platform_json.Broken as e:
        raise Bad(str(e)) from None
    region = single_line("platform.json region", data["region"])
    if not re.match(r"^[a-z]{2}(-[a-z]+)+-[0-9]+$", region):
        raise Bad(f"platform.json region {region!r} is not an AWS region name (like us-east-1)")
    d = data["directory"]
    if not isinstance(d, dict):
        raise Bad("platform.json directory is not an object")
    w = "platform.json directory"
    out = {"region": region}
    for key in ("domain", "search_base", "bind_user", "connection_parameter", "default_shell", "home_dir"):
        out[key] = single_line(f"{w}.{key}", required(d, key, w))
    if not re.match(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$", out["domain"]):
        raise Bad(f"{w}.domain {out['domain']!r} is not a DNS name")
    if not NAME.match(out["bind_user"]):
        raise Bad(f"{w}.bind_user {out['bind_user']!r} is not a plain account name")
    if not re.match(r"^/[A-Za-z0-9_.\-/]+$", out["connection_parameter"]):
        raise Bad(f"{w}.connection_parameter {out['connection_parameter']!r} is not an SSM parameter path")
    if not re.match(r"^(/[A-Za-z0-9._-]+)+/%u$", out["home_dir"]):
        raise Bad(f"{w}.home_dir {out['home_dir']!r} is not an absolute path ending in /%u")
    if not out["default_shell"].startswith("/"):
        raise Bad(f"{w}.default_shell {out['default_shell']!r} is not an absolute path")
    by_role = required(d, "allowed_groups_by_role", w)
    if not isinstance(by_role, dict):
        raise Bad(f"{w}.allowed_groups_by_role must map a node role to group names")
    if not role:
        raise Bad("HP_NODE_ROLE is not set: cannot tell which groups may log in to this node")
    if role not in by_role:
        raise Bad(
            f"{w}.allowed_groups_by_role has no entry for this node's role {role!r} "
            f"(roles: {', '.join(sorted(by_role)) or 'none'})"
        )
    allowed = names(f"{w}.allowed_groups_by_role.{role}", by_role[role], allow_empty=False)
    sudo = names(f"{w}.sudo_groups", required(d, "sudo_groups", w))
    local = names(f"{w}.local_groups", required(d, "local_groups", w))
    out["allowed_groups"] = " ".join(allowed)
    # sudo only for the groups that may log in on this role.
    out["sudo_groups"] = " ".join(g for g in sudo if g in allowed)
    out["local_groups"] = " ".join(local)
    for key, value in out.items():
        print(f"{key}\t{value}")


def parameter(path: str, name: str, allowed: str, ca_out: str) -> None:
    w = f"directory parameter {name}"
    try:
        reply = json.load(open(path, encoding="utf-8"))
        param = reply["Parameter"]
        version = param["Version"]
        raw = param["Value"]
    except (ValueError, KeyError, TypeError) as e:
        raise Bad(f"{w}: not a get-parameter answer ({e})") from None
    try:
        value = json.loads(raw)
    except ValueError as e:
        raise Bad(f"{w} is not JSON: {e}") from None
    if not isinstance(value, dict):
        raise Bad(f"{w} is not a JSON object")
    schema = required(value, "schema", w)
    if schema != SCHEMA:
        raise Bad(f"{w}: schema {schema!r} is not supported by this node (it reads schema {SCHEMA})")
    uri = single_line(f"{w} ldaps_uri", required(value, "ldaps_uri", w))
    if not re.match(r"^ldaps://[A-Za-z0-9.-]+(:[0-9]+)?/?$", uri):
        raise Bad(f"{w} ldaps_uri {uri!r} is not ldaps://HOST[:PORT] (plaintext LDAP is never used)")
    bind_dn = single_line(f"{w} bind_dn", required(value, "bind_dn", w))
    secret_id = single_line(f"{w} bind_secret_id", required(value, "bind_secret_id", w))
    group_dns = required(value, "group_dns", w)
    if not isinstance(group_dns, dict):
        raise Bad(f"{w} group_dns must map group names to DNs")
    ca = required(value, "ca_cert_pem", w)
    if not isinstance(ca, str) or "-----BEGIN CERTIFICATE-----" not in ca:
        raise Bad(f"{w} ca_cert_pem holds no PEM certificate")
    if "PRIVATE KEY-----" in ca:
        raise Bad(f"{w} ca_cert_pem holds a private key")
    fd = os.open(ca_out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, (ca if ca.endswith("\n") else ca + "\n").encode())
    os.close(fd)
    print(f"version\t{version}")
    print(f"ldaps_uri\t{uri}")
    print(f"bind_dn\t{bind_dn}")
    print(f"bind_secret_id\t{secret_id}")
    for group in allowed.split():
        if group not in group_dns:
            raise Bad(f"{w} group_dns.{group} is missing (an allowed group of this node)")
        print(f"group_dn\t{group}\t{single_line(f'{w} group_dns.{group}', group_dns[group])}")


def secret(path: str, secret_id: str, out: str) -> None:
    w = f"the bind secret {secret_id}"
    try:
        reply = json.load(open(path, encoding="utf-8"))
        version = reply["VersionId"]
        password = reply["SecretString"]
    except (ValueError, KeyError, TypeError) as e:
        raise Bad(f"{w}: not a get-secret-value answer ({type(e).__name__} {e})") from None
    if not isinstance(password, str) or not password:
        raise Bad(f"{w} is empty")
    if any(ord(c) < 32 or ord(c) == 127 for c in password) or password != password.strip():
        raise Bad(f"{w} holds control characters or leading/trailing spaces, which sssd.conf cannot carry")
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, password.encode())
    os.close(fd)
    print(single_line(f"{w} VersionId", version))


def access_filter(dns: list[str]) -> None:
    # Membership in any allowed group, nested groups included (LDAP_MATCHING_RULE_IN_CHAIN, evaluated by
    # AD on the server). Values escaped as RFC 4515 asks.
    def escape(value):
        return "".join("\\%02x" % ord(c) if c in "\\*()\0" else c for c in value)

    print("(|" + "".join(f"(memberOf:1.2.840.113556.1.4.1941:={escape(dn)})" for dn in dns) + ")")


def sssd_conf(out, password_file, domain, uri, base, bind_dn, ca, filt, home, shell) -> None:
    password = open(password_file, encoding="utf-8").read()
    text = f"""# Written by the hyperpod-platform lifecycle (50-directory.sh); overwritten on each run.
# The bind password is stored as a plain password on purpose: this file is root:root 0600, and SSSD's
# obfuscated_password is reversible by anyone who can read it (the key is inside the token), so it would
# add nothing. The bind user is the directory's read-only user.
[sssd]
config_file_version = 2
services = nss, pam, ssh
domains = {domain}

[nss]

[pam]

[ssh]

[domain/{domain}]
id_provider = ldap
auth_provider = ldap
access_provider = ldap
ldap_schema = AD
ldap_uri = {uri}
ldap_search_base = {base}
ldap_default_bind_dn = {bind_dn}
ldap_default_authtok_type = password
ldap_default_authtok = {password}
ldap_tls_reqcert = hard
ldap_tls_cacert = {ca}
ldap_referrals = False
# The NLB drops TCP flows idle for 350 s; SSSD reconnects before that instead of finding the connection reset.
ldap_connection_expire_timeout = 300
ldap_id_mapping = True
ldap_use_tokengroups = True
ldap_user_extra_attrs = altSecurityIdentities:altSecurityIdentities
ldap_user_ssh_public_key = altSecurityIdentities
# Only members of this node's allowed groups (nested membership counts), with an enabled account that has
# not expired (ad: userAccountControl and accountExpires).
ldap_access_order = filter, expire
ldap_account_expire_policy = ad
ldap_access_filter = {filt}
override_homedir = {home}
default_shell = {shell}
cache_credentials = True
enumerate = False
"""
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, text.encode())
    os.close(fd)


def nsswitch(src: str, out: str) -> None:
    # passwd, group and shadow also ask SSSD (appended after the existing sources); other lines stay.
    original = open(src, encoding="utf-8").read() if os.path.exists(src) else ""
    lines = original.splitlines()
    wanted = ["passwd", "group", "shadow"]
    for i, line in enumerate(lines):
        body, hash_sign, comment = line.partition("#")  # glibc ends a line at "#"
        m = re.match(r"\s*(\w+)\s*:(.*)$", body)
        if m and m.group(1) in wanted:
            wanted.remove(m.group(1))
            if "sss" not in m.group(2).split():
                lines[i] = body.rstrip() + " sss" + (f" {hash_sign}{comment}" if hash_sign else "")
    lines += [f"{db}:{' ' * (15 - len(db))}files sss" for db in wanted]
    text = "\n".join(lines) + "\n"
    same = text == "\n".join(original.splitlines()) + "\n"
    open(out, "w", encoding="utf-8").write(original if same else text)


def main(argv: list[str]) -> int:
    commands = {
        "platform": platform,
        "parameter": parameter,
        "secret": secret,
        "sssd-conf": sssd_conf,
        "nsswitch": nsswitch,
    }
    try:
        if argv and argv[0] == "filter":
            access_filter(argv[1:])
        elif argv and argv[0] in commands:
            commands[argv[0]](*argv[1:])
        else:
            print(__doc__, file=sys.stderr)
            return 64
    except Bad as e:
        print(e, file=sys.stderr)
        return 2
    except (OSError, ValueError) as e:
        print(f"{type(e).__name__}: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
