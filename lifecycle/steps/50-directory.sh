#!/usr/bin/env bash
# Central identity on every node: directory users (Active Directory over LDAPS) resolve and log in
# through SSSD. Only members of directory.allowed_groups get in, and the gate is SSSD's own
# (access_provider = ldap with an ldap_access_filter), doubled by sshd AllowGroups, which also keeps the
# local groups (the HyperPod admin user). SSH keys come from altSecurityIdentities; homes are created on
# first login with umask 0077; directory.sudo_groups get passwordless sudo, nobody else.
#
# Order: packages, then the bind password (Secrets Manager, kept in a 0700 temporary directory), then a
# real bind with the pinned CA (the bundle's PEM, never fetched from the server). Only when that works
# are files changed; each is validated (sssctl, visudo, sshd -T, pam-auth-update's result), every
# previous file is put back when anything fails, and only what changed is restarted. The password is
# never printed nor put on a command line.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "${HP_LIFECYCLE_DIR}/lib/common.sh"

if [[ -z "$(platform_get directory)" ]]; then
  log "no directory in this stack; identity stays local"
  exit 0
fi

# --- read and check the directory section ---------------------------------------------------------
setting() {
  local value
  value="$(platform_get "directory.$1")" || die "cannot read directory.$1 from platform.json"
  [[ -n "${value}" ]] || die "platform.json has a directory section without directory.$1"
  [[ "${value}" != *$'\n'* && "${value}" != *$'\r'* ]] || die "platform.json directory.$1 is not a single line"
  printf '%s' "${value}"
}
domain="$(setting domain)"
uri="$(setting ldaps_uri)"
search_base="$(setting search_base)"
bind_dn="$(setting bind_dn)"
secret_id="$(setting bind_secret_id)"
ca_rel="$(setting ca_cert)"
home_dir="$(setting home_dir)"
shell="$(setting default_shell)"
region="$(platform_get region)"
[[ -n "${region}" ]] || die "platform.json has no region"

[[ "${domain}" =~ ^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$ ]] || die "directory.domain '${domain}' is not a DNS name"
[[ "${uri}" =~ ^ldaps://[A-Za-z0-9.-]+(:[0-9]+)?/?$ ]] ||
  die "directory.ldaps_uri '${uri}' is not ldaps://HOST[:PORT] (plaintext LDAP is never used)"
[[ "${home_dir}" =~ ^(/[A-Za-z0-9._-]+)+/%u$ ]] ||
  die "directory.home_dir '${home_dir}' is not an absolute path ending in /%u"
home_parent="${home_dir%/%u}"
[[ "${shell}" == /* && -x "${HP_ROOT}${shell}" ]] ||
  die "directory.default_shell ${shell} is not installed on this node"
[[ "${ca_rel}" != /* && "/${ca_rel}/" != */../* ]] ||
  die "directory.ca_cert '${ca_rel}' is not a path inside the lifecycle bundle"
ca_src="${HP_LIFECYCLE_DIR}/${ca_rel}"
[[ -r "${ca_src}" ]] || die "cannot read the directory CA ${ca_rel} in the lifecycle bundle"
grep -q -- '-----BEGIN CERTIFICATE-----' "${ca_src}" || die "${ca_rel} holds no PEM certificate"
if grep -q -- 'PRIVATE KEY-----' "${ca_src}"; then die "${ca_rel} holds a private key: ship only the CA certificate"; fi
if command -v openssl >/dev/null && ! openssl x509 -in "${ca_src}" -noout 2>/dev/null; then
  die "${ca_rel} is not a readable X.509 certificate"
fi

group_name_re='^[A-Za-z0-9_][A-Za-z0-9._-]*$'
list="$(platform_list directory.allowed_groups 2>&1)" || die "${list}"
allowed_names=()
allowed_dns=()
if [[ -n "${list}" ]]; then
  while IFS=$'\t' read -r name dn; do
    [[ "${name}" =~ ${group_name_re} ]] || die "directory.allowed_groups: '${name}' is not a plain group name"
    [[ -n "${dn}" ]] || die "directory.allowed_groups: ${name} has no DN"
    allowed_names+=("${name}")
    allowed_dns+=("${dn}")
  done <<<"${list}"
fi
((${#allowed_names[@]})) || die "directory.allowed_groups is empty: nobody from the directory could log in"
list="$(platform_list directory.sudo_groups 2>&1)" || die "${list}"
sudo_groups=()
[[ -z "${list}" ]] || mapfile -t sudo_groups <<<"${list}"
for group in "${sudo_groups[@]}"; do
  [[ " ${allowed_names[*]} " == *" ${group} "* ]] ||
    die "directory.sudo_groups: ${group} is not one of directory.allowed_groups (${allowed_names[*]})"
done
list="$(platform_list directory.local_groups 2>&1)" || die "${list}"
local_groups=()
[[ -z "${list}" ]] || mapfile -t local_groups <<<"${list}"
for group in "${local_groups[@]}"; do
  [[ "${group}" =~ ${group_name_re} ]] || die "directory.local_groups: '${group}' is not a plain group name"
done

# --- packages -----------------------------------------------------------------------------------------
installed() { [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]; }
apt_get() { # apt_get install|remove ARGS...: up to 3 attempts (package lists refreshed before an install)
  local attempt
  for attempt in 1 2 3; do
    : >"${work}/apt.log"
    # On first boot unattended-upgrades may hold the dpkg lock for minutes: wait for it, then retry.
    if { [[ "$1" != install ]] || apt-get -o DPkg::Lock::Timeout=600 update -qq >>"${work}/apt.log" 2>&1; } &&
      DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -y -qq "$@" >>"${work}/apt.log" 2>&1; then
      return 0
    fi
    log "apt-get $* failed (attempt ${attempt}/3): $(tail -n 2 "${work}/apt.log" | tr '\n' ' ')"
    [[ "${attempt}" -lt 3 ]] && sleep "$((attempt * ${HP_RETRY_DELAY:-5}))"
  done
  return 1
}
work="$(mktemp -d)"
installing=0
# On any failure once files are being installed (a failed validation, or a die anywhere, e.g. inside
# write_if_changed), every previous file is put back before the step exits.
trap 'finish $?' EXIT
finish() {
  if (($1 != 0 && installing)); then
    rollback_files
    log "previous files restored"
  fi
  rm -rf "${work}"
}
chmod 0700 "${work}"
mkdir -m 0700 "${work}/new" "${work}/old" "${work}/check"

packages=(sssd sssd-ldap sssd-tools libnss-sss libpam-sss ldap-utils)
missing=()
for package in "${packages[@]}"; do installed "${package}" || missing+=("${package}"); done
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  apt_get install --no-install-recommends "${missing[@]}" || die "could not install ${missing[*]} after 3 attempts"
fi
[[ -x /usr/bin/sss_ssh_authorizedkeys ]] ||
  die "/usr/bin/sss_ssh_authorizedkeys is missing after installing ${packages[*]}"
ssh_changed=0
if installed ec2-instance-connect; then
  # Its sshd unit override sets its own AuthorizedKeysCommand, which would replace SSSD's.
  apt_get remove ec2-instance-connect || die "could not remove ec2-instance-connect"
  # Its override lives in a systemd drop-in for the ssh unit: reload units so the restart below drops it.
  systemctl daemon-reload || die "systemctl daemon-reload failed after removing ec2-instance-connect"
  log "removed ec2-instance-connect (it overrides sshd's AuthorizedKeysCommand)"
  ssh_changed=1
fi

# --- bind password, then a real bind with the pinned CA, before any file changes ---------------------
if ! aws secretsmanager get-secret-value --region "${region}" --secret-id "${secret_id}" \
  --query SecretString --output text >"${work}/secret" 2>"${work}/error"; then
  die "cannot read the directory bind password ${secret_id}: $(tail -n 3 "${work}/error" | tr '\n' ' ')"
fi
# The AWS CLI ends the text with a line break; the password is everything before it, written without one.
if ! python3 - "${work}/secret" "${work}/password" 2>"${work}/error" <<'PY'; then
import os, sys
raw = open(sys.argv[1], encoding="utf-8").read()
password = raw[:-1] if raw.endswith("\n") else raw
if not password:
    sys.exit("the secret is empty")
if any(ord(c) < 32 or ord(c) == 127 for c in password) or password != password.strip():
    sys.exit("the password holds control characters or leading/trailing spaces, which sssd.conf cannot carry")
fd = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
os.write(fd, password.encode())
os.close(fd)
PY
  die "cannot use the directory bind password ${secret_id}: $(tail -n 1 "${work}/error")"
fi
rm -f "${work}/secret"

ldap() { # ldap TOOL ARGS...: a simple bind as the bind user over LDAPS, trusting only the pinned CA
  local tool="$1"
  shift
  LDAPTLS_CACERT="${ca_src}" LDAPTLS_REQCERT=hard timeout 60 "${tool}" -x -o nettimeout=10 -H "${uri}" \
    -D "${bind_dn}" -y "${work}/password" "$@"
}
# The bind user reads its own entry: a simple bind over TLS (failing with the server's own reason), then a
# search. Not ldapwhoami: Samba AD DCs do not implement the WhoAmI extended operation.
if ! ldap ldapsearch -LLL -s base -b "${bind_dn}" dn >/dev/null 2>"${work}/error"; then
  reason="$(head -n 2 "${work}/error" | tr '\n\t' '  ')"
  if [[ "${reason}" == *"Can't contact LDAP server"* ]] && command -v openssl >/dev/null; then
    # ldapsearch does not say whether TCP or the certificate failed; openssl does (no credentials involved).
    hostport="${uri#ldaps://}"
    hostport="${hostport%/}"
    [[ "${hostport}" == *:* ]] || hostport="${hostport}:636"
    reason+="; TLS check: $(timeout 15 openssl s_client -connect "${hostport}" -servername "${hostport%:*}" \
      -verify_hostname "${hostport%:*}" -CAfile "${ca_src}" -verify_return_error -brief </dev/null 2>&1 |
      grep -m 1 -E 'verify error|errno=|Verification: OK' || echo "no answer from ${hostport}")"
  fi
  # AD's sub-codes of "Invalid credentials (49)" (in the additional info) tell a wrong password from an account
  # problem; the domain's default policy expires passwords (42 days in AWS Managed Microsoft AD).
  case "${reason}" in
    *"data 532"* | *"data 773"*) reason+="; the bind user's password has expired or must be changed: rotate it (bump directory.bindPasswordVersion, pulumi up, then run this step again), and exempt the bind user from expiry with a fine-grained password policy" ;;
    *"data 533"*) reason+="; the bind user's account is disabled in the directory" ;;
    *"data 701"*) reason+="; the bind user's account has expired in the directory" ;;
    *"data 775"*) reason+="; the bind user's account is locked out (too many failed binds)" ;;
  esac
  die "cannot bind to ${uri} as ${bind_dn} (password from ${secret_id}, server certificate checked against ${ca_rel}): ${reason}"
fi
# Every allowed group must exist under its name: a mistyped DN would silently lock its members out, and
# the name is what sshd AllowGroups and sudo compare (SSSD names AD groups by sAMAccountName).
for i in "${!allowed_dns[@]}"; do
  if ! found="$(ldap ldapsearch -LLL -o ldif-wrap=no -s base -b "${allowed_dns[i]}" sAMAccountName 2>"${work}/error" |
    awk -F': ' '$1 == "sAMAccountName" { print $2 }')"; then
    die "directory.allowed_groups ${allowed_names[i]}: ${allowed_dns[i]} not found in the directory: $(head -n 1 "${work}/error")"
  fi
  [[ "${found}" == "${allowed_names[i]}" ]] ||
    die "directory.allowed_groups ${allowed_names[i]}: the group at ${allowed_dns[i]} is named '${found}' (sAMAccountName), not ${allowed_names[i]}"
done
log "bound to ${uri} as ${bind_dn} with the pinned CA"

# --- render -----------------------------------------------------------------------------------------------
# The access filter: membership in any allowed group, nested groups included (LDAP_MATCHING_RULE_IN_CHAIN,
# which AD and Samba evaluate on the server). Values are escaped as RFC 4515 asks.
filter="$(python3 - "${allowed_dns[@]}" <<'PY'
import sys
def escape(value):
    return "".join("\\%02x" % ord(c) if c in '\\*()\0' else c for c in value)
terms = "".join(f"(memberOf:1.2.840.113556.1.4.1941:={escape(dn)})" for dn in sys.argv[1:])
print(f"(|{terms})")
PY
)"
status=0
ldap ldapsearch -LLL -z 1 -b "${search_base}" "(&(objectCategory=person)${filter})" dn \
  >/dev/null 2>"${work}/error" || status=$?
# 4: size limit exceeded, i.e. the filter matched more than one entry.
[[ "${status}" -eq 0 || "${status}" -eq 4 ]] ||
  die "the directory rejects the access filter ${filter}: $(head -n 1 "${work}/error")"

ca="/etc/sssd/certs/hyperpod-ldaps-ca.pem"
cp "${ca_src}" "${work}/new/ca"
python3 - "${work}/new/sssd.conf" "${work}/password" "${domain}" "${uri}" "${search_base}" "${bind_dn}" "${ca}" \
  "${filter}" "${home_dir}" "${shell}" <<'PY'
import os, sys
out, password_file, domain, uri, base, bind_dn, ca, access_filter, home, shell = sys.argv[1:]
password = open(password_file, encoding="utf-8").read()
text = f"""# Written by the hyperpod-platform lifecycle (50-directory.sh) from platform.json; overwritten on each run.
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
# Only members of the allowed groups (nested membership counts), with an account that has not expired.
ldap_access_order = filter, expire
ldap_account_expire_policy = ad
ldap_access_filter = {access_filter}
override_homedir = {home}
default_shell = {shell}
cache_credentials = True
enumerate = False
"""
fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
os.write(fd, text.encode())
os.close(fd)
PY
{
  echo "# Written by the hyperpod-platform lifecycle (50-directory.sh); overwritten on each run."
  echo "# Directory users: keys from SSSD (altSecurityIdentities); local users keep ~/.ssh/authorized_keys."
  echo "# Only the allowed directory groups and the local admin groups may log in."
  echo "AuthorizedKeysCommand /usr/bin/sss_ssh_authorizedkeys %u"
  echo "AuthorizedKeysCommandUser nobody"
  echo "AllowGroups ${allowed_names[*]}${local_groups[*]:+ ${local_groups[*]}}"
} >"${work}/new/sshd.conf"
{
  echo "# Written by the hyperpod-platform lifecycle (50-directory.sh); overwritten on each run."
  echo "# Passwordless sudo for directory.sudo_groups only."
  for group in "${sudo_groups[@]}"; do echo "%${group} ALL=(ALL:ALL) NOPASSWD: ALL"; done
} >"${work}/new/sudoers"
cat >"${work}/new/pam-profile" <<'PROFILE'
Name: Create home directory on first login, private (hyperpod-platform)
Default: yes
Priority: 0
Session-Type: Additional
Session-Interactive-Only: yes
Session:
	optional			pam_mkhomedir.so umask=0077
PROFILE
nsswitch="${HP_ROOT}/etc/nsswitch.conf"
# passwd, group and shadow also ask SSSD (appended after the existing sources); other lines stay.
python3 - "${nsswitch}" "${work}/new/nsswitch" <<'PY'
import os, re, sys
src, out = sys.argv[1:]
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
open(out, "w", encoding="utf-8").write(original if text == "\n".join(original.splitlines()) + "\n" else text)
PY

# Validate what can be validated before installing: sssctl needs the file root:root 0600 and a snippet
# dir (the node's own conf.d, whose snippets SSSD merges in, when there is one).
snippets="${HP_ROOT}/etc/sssd/conf.d"
[[ -d "${snippets}" ]] || snippets="${work}/check/conf.d"
mkdir -p "${snippets}"
install -m 0600 -o root -g root "${work}/new/sssd.conf" "${work}/check/sssd.conf"
# sssctl before SSSD 2.3 (Ubuntu 20.04 has 2.2) checks only the installed file: then the file is checked in
# place right after it is installed, and put back like every other file when it fails.
sssd_checked=0
if sssctl config-check --help 2>&1 | grep -q -- '--config'; then
  if ! sssctl config-check -c "${work}/check/sssd.conf" -s "${snippets}" >"${work}/error" 2>&1; then
    die "sssctl rejects the rendered sssd.conf: $(grep -v '^$' "${work}/error" | head -n 3 | tr '\n' ' ')"
  fi
  sssd_checked=1
fi
install -m 0440 -o root -g root "${work}/new/sudoers" "${work}/check/sudoers"
if ! visudo -c -q -f "${work}/check/sudoers" >"${work}/error" 2>&1; then
  die "visudo rejects the rendered sudoers rule: $(head -n 2 "${work}/error" | tr '\n' ' ')"
fi

# --- install, keeping the previous files ------------------------------------------------------------------
sssd_conf="${HP_ROOT}/etc/sssd/sssd.conf"
sshd_conf="${HP_ROOT}/etc/ssh/sshd_config.d/20-hyperpod-directory.conf"
sudoers="${HP_ROOT}/etc/sudoers.d/hyperpod-directory"
profile="${HP_ROOT}/usr/share/pam-configs/hyperpod-mkhomedir"
targets=("${HP_ROOT}${ca}" "${sssd_conf}" "${nsswitch}" "${sshd_conf}" "${sudoers}" "${profile}")
# pam-auth-update rewrites these and keeps its state in /var/lib/pam.
for name in auth account password session session-noninteractive; do
  targets+=("${HP_ROOT}/etc/pam.d/common-${name}" "${HP_ROOT}/var/lib/pam/${name}")
done
targets+=("${HP_ROOT}/var/lib/pam/seen")
for i in "${!targets[@]}"; do
  [[ ! -e "${targets[i]}" ]] || cp -p "${targets[i]}" "${work}/old/${i}"
done
sssd_restarted=0
ssh_restarted=0
had_sssd_conf=0
[[ -e "${sssd_conf}" ]] && had_sssd_conf=1
clear_sssd_cache() {
  # A cache filled under another configuration (other id mapping, other filter) must not be served, and
  # the memory-mapped one (mc) would answer lookups even with sssd down.
  rm -rf "${HP_ROOT}"/var/lib/sss/db/* "${HP_ROOT}"/var/lib/sss/mc/*
}
restart_sssd() {
  clear_sssd_cache
  systemctl restart sssd
}
rollback_files() { # put every previous file back, and restart what was restarted (called on exit)
  local i
  for i in "${!targets[@]}"; do
    if [[ -e "${work}/old/${i}" ]]; then
      cp -p "${work}/old/${i}" "${targets[i]}" || log "ERROR: cannot restore ${targets[i]#"${HP_ROOT}"}"
    else
      rm -f "${targets[i]}" || log "ERROR: cannot remove ${targets[i]#"${HP_ROOT}"}"
    fi
  done
  if ((sssd_restarted)); then
    if ((had_sssd_conf)); then
      restart_sssd || log "ERROR: sssd did not restart with the previous configuration"
    else
      clear_sssd_cache
      systemctl stop sssd || true
    fi
  fi
  if ((ssh_restarted)); then
    systemctl restart ssh || log "ERROR: sshd did not restart with the previous configuration"
  fi
}
rollback() { die "$*"; } # the EXIT trap restores the previous files
installing=1

sssd_changed=0
write_if_changed "${HP_ROOT}${ca}" 0644 <"${work}/new/ca" && sssd_changed=1
write_if_changed "${sssd_conf}" 0600 <"${work}/new/sssd.conf" && sssd_changed=1
if ((!sssd_checked)); then
  log "this sssctl cannot check a file before it is installed; checking ${sssd_conf#"${HP_ROOT}"} in place"
  if ! sssctl config-check >"${work}/error" 2>&1; then
    rollback "sssctl rejects the rendered sssd.conf: $(grep -v '^$' "${work}/error" | head -n 3 | tr '\n' ' ')"
  fi
fi
write_if_changed "${nsswitch}" 0644 <"${work}/new/nsswitch" || true
write_if_changed "${sshd_conf}" 0644 <"${work}/new/sshd.conf" && ssh_changed=1
write_if_changed "${sudoers}" 0440 <"${work}/new/sudoers" || true
profile_changed=0
write_if_changed "${profile}" 0644 <"${work}/new/pam-profile" && profile_changed=1

# PAM: the sss profile and ours enabled (and Debian's plain mkhomedir, umask 0022, disabled), through
# pam-auth-update so that package upgrades keep them; it runs only when something is missing.
pam_dir="${HP_ROOT}/etc/pam.d"
pam_ok() {
  grep -qE '^session\s+optional\s+pam_mkhomedir\.so umask=0077\s*$' "${pam_dir}/common-session" &&
    awk '/^session[ \t].*pam_mkhomedir\.so/ && !/umask=0077/ { bad = 1 } END { exit bad }' \
      "${pam_dir}/common-session" &&
    grep -qE '^auth\s.*pam_sss\.so' "${pam_dir}/common-auth" &&
    grep -qE '^account\s.*pam_sss\.so' "${pam_dir}/common-account" &&
    grep -qE '^session\s.*pam_sss\.so' "${pam_dir}/common-session"
}
if ((profile_changed)) || ! pam_ok 2>/dev/null; then
  pam_args=(--enable sss hyperpod-mkhomedir)
  if grep -qE '^session\s.*pam_mkhomedir\.so\s*$' "${pam_dir}/common-session" 2>/dev/null; then
    pam_args+=(--disable mkhomedir) # Debian's own profile, umask 0022
  fi
  if ! DEBIAN_FRONTEND=noninteractive pam-auth-update "${pam_args[@]}" >"${work}/error" 2>&1; then
    rollback "pam-auth-update ${pam_args[*]} failed: $(grep -v '^$' "${work}/error" | head -n 2 | tr '\n' ' ')"
  fi
  pam_ok 2>/dev/null ||
    rollback "pam-auth-update did not enable pam_sss and pam_mkhomedir umask=0077 in /etc/pam.d/common-*: $(grep -v '^$' "${work}/error" | head -n 2 | tr '\n' ' ') (local changes to those files? pam-auth-update then leaves them alone)"
  log "PAM: sss and hyperpod-mkhomedir (umask 0077) enabled"
fi
if [[ ! -d "${HP_ROOT}${home_parent}" ]]; then
  install -d -m 0755 -o root -g root "${HP_ROOT}${home_parent}" || rollback "cannot create the home root ${home_parent}"
  log "home root ${home_parent} created"
fi

# sshd: the drop-in must be what sshd uses. Debian/Ubuntu's sshd_config Includes sshd_config.d/*.conf on
# its first line, before any Match block; a config that does not (or sets these itself) is refused.
install -d -m 0755 "${HP_ROOT}/run/sshd"
if ! sshd -t -f "${HP_ROOT}/etc/ssh/sshd_config" 2>"${work}/error"; then
  rollback "sshd rejects the config with ${sshd_conf#"${HP_ROOT}"}: $(tail -n 3 "${work}/error" | tr '\n' ' ')"
fi
effective="$(sshd -T -f "${HP_ROOT}/etc/ssh/sshd_config" 2>/dev/null)" || effective=""
got_groups="$(awk '$1 == "allowgroups" { print $2 }' <<<"${effective}" | sort | xargs)"
want_groups="$(printf '%s\n' "${allowed_names[@]}" "${local_groups[@]}" | sort | xargs)"
got_command="$(awk '$1 == "authorizedkeyscommand" { $1 = ""; print substr($0, 2) }' <<<"${effective}")"
got_user="$(awk '$1 == "authorizedkeyscommanduser" { print $2 }' <<<"${effective}")"
if [[ "${got_groups}" != "${want_groups}" || "${got_command}" != "/usr/bin/sss_ssh_authorizedkeys %u" ||
  "${got_user}" != "nobody" ]]; then
  rollback "sshd would use AllowGroups [${got_groups}], AuthorizedKeysCommand [${got_command}] as [${got_user}], not ours: /etc/ssh/sshd_config must Include /etc/ssh/sshd_config.d/*.conf before any Match block and not set these itself"
fi
if ! visudo -c -q >"${work}/error" 2>&1; then
  rollback "visudo rejects the sudoers configuration with ${sudoers#"${HP_ROOT}"}: $(head -n 2 "${work}/error" | tr '\n' ' ')"
fi

# --- restart what changed ----------------------------------------------------------------------------------
probe="${allowed_names[0]}"
probe_seconds="${HP_SSSD_PROBE_SECONDS:-15}"
[[ "${probe_seconds}" =~ ^[1-9][0-9]*$ ]] || die "HP_SSSD_PROBE_SECONDS must be a number of seconds"
if ((sssd_changed)); then
  sssd_restarted=1
  restart_sssd || rollback "systemctl restart sssd failed"
  resolved=0
  deadline=$((SECONDS + probe_seconds))
  while ((SECONDS < deadline)); do
    # From sssd itself: not from local files, not from its memory-mapped cache.
    if SSS_NSS_USE_MEMCACHE=NO timeout 5 getent -s sss group "${probe}" >/dev/null; then
      resolved=1
      break
    fi
    sleep 0.5
  done
  ((resolved)) || rollback "sssd restarted but the directory group ${probe} does not resolve (getent -s sss group ${probe}) after ${probe_seconds} s; see /var/log/sssd"
  log "sssd restarted; directory group ${probe} resolves"
fi
if ((ssh_changed)); then
  ssh_restarted=1
  systemctl restart ssh || rollback "systemctl restart ssh failed"
  log "sshd restarted"
fi
if ((sssd_changed || ssh_changed)); then
  log "directory ${domain} configured: members of ${allowed_names[*]} may log in${sudo_groups[*]:+, ${sudo_groups[*]} with sudo}"
else
  log "directory ${domain} already configured"
fi
