#!/usr/bin/env bash
# Central identity on every node: directory users (Active Directory over LDAPS) resolve and log in
# through SSSD. Only members of the groups allowed on this node's role (directory.allowed_groups_by_role)
# get in; the gate is SSSD's own (access_provider = ldap: an ldap_access_filter on group membership, and
# AD's account expiry and disabled flag), doubled by sshd AllowGroups, which also keeps the local groups
# (the HyperPod admin user). SSH keys come from altSecurityIdentities; homes are created on first login
# with umask 0077; the sudo groups allowed on this role get passwordless sudo, nobody else.
#
# The directory may be ready after the node (the stack does not wait for it). Its connection settings
# are an SSM parameter (directory.connection_parameter) that the stack writes once the directory, its
# users and groups and the LDAPS endpoint exist. Order: install a timer that re-runs this step from a
# stable copy; read the parameter, then the bind password (Secrets Manager); when their versions are the
# ones already applied, stop. Otherwise packages, then a real bind with the parameter's CA. A directory
# that is not there yet (no parameter, LDAPS not answering) or refuses the bind defers: the step says so,
# exits 0 and changes nothing; the timer tries again. Only after a good bind are files changed (and
# ec2-instance-connect removed); each is validated, every previous file (and ec2-instance-connect) is put
# back when anything fails, and only what changed is restarted. The password is never printed nor put on
# a command line. A malformed platform.json or parameter is an error.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "${HP_LIFECYCLE_DIR}/lib/common.sh"
# shellcheck source=../lib/directory.sh
source "${HP_LIFECYCLE_DIR}/lib/directory.sh"

if ! platform_enabled directory; then
  log "no directory in this stack; identity stays local"
  exit 0
fi

defer() { # the directory is not usable yet: nothing changed, the timer tries again
  log "deferred: $*; nothing changed, ${UNIT}.timer tries again in a few minutes"
  exit 0
}

# One run at a time (the timer may fire while the boot-time run is still going). The wait is well inside the
# service's TimeoutStartSec (so that a waiting run is not the one systemd kills); a run still holding the lock
# by then is applying the directory itself, so this one defers to it.
mkdir -p "${HP_ROOT}/run/lock"
exec 9>"${HP_ROOT}/run/lock/${UNIT}.lock"
lock_wait="${HP_DIRECTORY_LOCK_WAIT:-${LOCK_WAIT_SECONDS}}"
[[ "${lock_wait}" =~ ^[0-9]+$ ]] || die "HP_DIRECTORY_LOCK_WAIT must be a number of seconds"
if ! flock -w "${lock_wait}" 9; then
  defer "another run of this step has held ${HP_ROOT}/run/lock/${UNIT}.lock for ${lock_wait} s and applies the directory"
fi
# Whatever these start (a daemon, a package's postinst) must not inherit the lock and outlive this run with it.
systemctl() { command systemctl "$@" 9>&-; }
apt-get() { command apt-get "$@" 9>&-; }

work="$(mktemp -d)"
installing=0
# Once files are being installed, any exit before the end of the install (a failed validation, a die
# anywhere, e.g. inside write_if_changed, or a signal: systemd's TimeoutStartSec, systemctl stop, a
# shutdown) puts every previous file back. Only the success path clears `installing`. Signals exit through
# the EXIT trap with their usual non-zero status (without these traps bash would run it with $? = 0).
trap 'exit 143' TERM
trap 'exit 130' INT
trap 'exit 129' HUP
trap 'finish $?' EXIT
finish() {
  # Rolling back must not be cut short: by a second signal (systemd sends SIGTERM to every process of the
  # unit), by errexit on a failed log line, or by SIGPIPE when whoever read our output is gone.
  set +e
  trap ':' TERM INT HUP
  trap '' PIPE
  if ((installing)); then
    log "exiting (status $1) while installing: putting the previous files back"
    rollback_files
    log "previous files restored"
  fi
  rm -rf "${work}"
}
chmod 0700 "${work}"
mkdir -m 0700 "${work}/new" "${work}/old" "${work}/check"

# --- this node's settings (platform.json) ---------------------------------------------------------
HP_NODE_ROLE="${HP_NODE_ROLE:-}"
python3 "${HP_LIFECYCLE_DIR}/lib/directory.py" platform "${HP_PLATFORM_JSON}" "${HP_NODE_ROLE}" \
  >"${work}/settings" 2>"${work}/error" || die "$(error_summary)"
declare -A cfg
while IFS=$'\t' read -r key value; do cfg["${key}"]="${value}"; done <"${work}/settings"
domain="${cfg[domain]}"
region="${cfg[region]}"
parameter="${cfg[connection_parameter]}"
home_parent="${cfg[home_dir]%/%u}"
read -r -a allowed_names <<<"${cfg[allowed_groups]}"
read -r -a sudo_groups <<<"${cfg[sudo_groups]}"
read -r -a local_groups <<<"${cfg[local_groups]}"
[[ -x "${HP_ROOT}${cfg[default_shell]}" ]] ||
  die "platform.json directory.default_shell ${cfg[default_shell]} is not installed on this node"

install_timer

# --- the connection parameter, then the bind password --------------------------------------------------
# A parameter that does not exist yet, or an AWS error a later run may not see (throttling, no network,
# access not granted yet), defers; an error no later run can fix (no aws CLI, an invalid request) fails.
get_parameter() { aws ssm get-parameter --name "${parameter}" --region "${region}" --output json >"${work}/parameter.json"; }
status=0
retry "reading the directory parameter ${parameter}" "ParameterNotFound|${AWS_FINAL_ERRORS}" get_parameter || status=$?
if ((status)); then
  if grep -q ParameterNotFound "${work}/error"; then
    defer "the directory is not ready: parameter ${parameter} does not exist yet"
  fi
  aws_failure_is_final "${status}" &&
    die "cannot read the directory parameter ${parameter} (aws exit ${status}), and a later run would not either: $(error_summary 3)"
  log "ERROR: cannot read the directory parameter ${parameter}: $(error_summary 3)"
  defer "the directory parameter ${parameter} cannot be read ($(error_summary 1))"
fi
python3 "${HP_LIFECYCLE_DIR}/lib/directory.py" parameter "${work}/parameter.json" "${parameter}" \
  "${allowed_names[*]}" "${work}/ca.pem" >"${work}/connection" 2>"${work}/error" || die "$(error_summary)"
allowed_dns=()
while IFS=$'\t' read -r key value dn; do
  case "${key}" in
    group_dn) allowed_dns+=("${dn}") ;;
    *) cfg["${key}"]="${value}" ;;
  esac
done <"${work}/connection"
uri="${cfg[ldaps_uri]}"
bind_dn="${cfg[bind_dn]}"
secret_id="${cfg[bind_secret_id]}"
if command -v openssl >/dev/null && ! openssl x509 -in "${work}/ca.pem" -noout 2>/dev/null; then
  die "directory parameter ${parameter} ca_cert_pem is not a readable X.509 certificate"
fi

get_secret() {
  aws secretsmanager get-secret-value --region "${region}" --secret-id "${secret_id}" --output json \
    >"${work}/secret.json"
}
status=0
retry "reading the bind password ${secret_id}" "${AWS_FINAL_ERRORS}" get_secret || status=$?
if ((status)); then
  aws_failure_is_final "${status}" &&
    die "cannot read the directory bind password ${secret_id} (aws exit ${status}), and a later run would not either: $(error_summary 3)"
  log "ERROR: cannot read the directory bind password ${secret_id}: $(error_summary 3)"
  defer "the bind password ${secret_id} cannot be read ($(error_summary 1))"
fi
# An unusable password (empty, control characters) is fixed by a new secret version: deferred, not fatal.
if ! secret_version="$(python3 "${HP_LIFECYCLE_DIR}/lib/directory.py" secret "${work}/secret.json" "${secret_id}" \
  "${work}/password" 2>"${work}/error")"; then
  log "ERROR: $(error_summary)"
  defer "the bind password in ${secret_id} cannot be used"
fi
rm -f "${work}/secret.json"

# --- already applied? ------------------------------------------------------------------------------------
# The state names the parameter and secret versions applied, and a digest of everything the files are
# made from (settings, parameter, this step's own code): the same digest means nothing to do.
state="${HP_ROOT}${STATE_DIR}/directory.state"
digest="$(cat "${work}/settings" "${work}/connection" "${work}/ca.pem" <(echo "${HP_NODE_ROLE} ${secret_version}") \
  "${HP_LIFECYCLE_DIR}"/{steps/50-directory.sh,lib/common.sh,lib/directory.sh,lib/directory.py} | sha256sum)"
printf 'parameter_version=%s\nsecret_version=%s\ninputs=%s\n' "${cfg[version]}" "${secret_version}" \
  "${digest%% *}" >"${work}/state"
if cmp -s "${work}/state" "${state}"; then
  log "directory ${domain} already configured (parameter version ${cfg[version]}, bind password version ${secret_version})"
  exit 0
fi
log "applying parameter ${parameter} version ${cfg[version]}, bind password version ${secret_version}"

# --- packages ----------------------------------------------------------------------------------------------
packages=(sssd sssd-ldap sssd-tools libnss-sss libpam-sss ldap-utils)
missing=()
for package in "${packages[@]}"; do installed "${package}" || missing+=("${package}"); done
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  apt_get install --no-install-recommends "${missing[@]}" || die "could not install ${missing[*]} after 3 attempts"
fi
[[ -x /usr/bin/sss_ssh_authorizedkeys ]] ||
  die "/usr/bin/sss_ssh_authorizedkeys is missing after installing ${packages[*]}"

# --- a real bind with the parameter's CA, before any file changes ----------------------------------------
# The bind user reads its own entry: a simple bind over TLS (failing with the server's own reason), then a
# search. Not ldapwhoami: Samba AD DCs do not implement the WhoAmI extended operation. A refused password
# (49) is the server's answer, not retried: repeated wrong binds can lock the account out.
bind() { ldap ldapsearch -LLL -s base -b "${bind_dn}" dn >/dev/null; }
if ! retry "binding to ${uri}" 'Invalid credentials' bind; then
  reason="$(bind_reason)"
  log "ERROR: cannot bind to ${uri} as ${bind_dn} (password from ${secret_id}, server certificate checked against the parameter's ca_cert_pem): ${reason}"
  case "${reason}" in
    *"Invalid credentials"*) defer "the directory at ${uri} refuses the bind password (${secret_id})" ;;
    *) defer "the directory at ${uri} does not answer over LDAPS with a certificate from the parameter's CA (${reason%%;*})" ;;
  esac
fi
# Every allowed group must exist under its name: a mistyped DN would silently lock its members out, and
# the name is what sshd AllowGroups and sudo compare (SSSD names AD groups by sAMAccountName).
# The server answered the bind a moment ago: a lookup that fails to connect (or times out) is transient and
# defers; an answer ("No such object", an invalid DN) is final.
group_lookup() { ldap ldapsearch -LLL -o ldif-wrap=no -s base -b "$1" sAMAccountName >"${work}/group"; }
for i in "${!allowed_dns[@]}"; do
  status=0
  retry "looking up ${allowed_dns[i]}" "${LDAP_FINAL_ERRORS}|Invalid credentials" group_lookup "${allowed_dns[i]}" ||
    status=$?
  if ((status)); then
    # The bind password changed since the bind above (a rotation): the next run reads the new one.
    ((status != 49)) || defer "the directory at ${uri} refuses the bind password (${secret_id})"
    ldap_failure_is_transient "${status}" &&
      defer "the directory at ${uri} stopped answering while looking up group_dns.${allowed_names[i]} (${allowed_dns[i]}): $(error_summary 1)"
    die "group_dns.${allowed_names[i]}: ${allowed_dns[i]} not found in the directory: $(error_summary 1)"
  fi
  found="$(awk -F': ' '$1 == "sAMAccountName" { print $2 }' "${work}/group")"
  [[ "${found}" == "${allowed_names[i]}" ]] ||
    die "group_dns.${allowed_names[i]}: the group at ${allowed_dns[i]} is named '${found}' (sAMAccountName), not ${allowed_names[i]}"
done
log "bound to ${uri} as ${bind_dn} with the parameter's CA"

# --- render -----------------------------------------------------------------------------------------------
filter="$(python3 "${HP_LIFECYCLE_DIR}/lib/directory.py" filter "${allowed_dns[@]}")"
status=0
ldap ldapsearch -LLL -z 1 -b "${cfg[search_base]}" "(&(objectCategory=person)${filter})" dn \
  >/dev/null 2>"${work}/error" || status=$?
# 4: size limit exceeded, i.e. the filter matched more than one entry.
[[ "${status}" -eq 0 || "${status}" -eq 4 ]] ||
  die "the directory rejects the access filter ${filter}: $(error_summary 1)"

ca="/etc/sssd/certs/hyperpod-ldaps-ca.pem"
cp "${work}/ca.pem" "${work}/new/ca"
python3 "${HP_LIFECYCLE_DIR}/lib/directory.py" sssd-conf "${work}/new/sssd.conf" "${work}/password" "${domain}" \
  "${uri}" "${cfg[search_base]}" "${bind_dn}" "${ca}" "${filter}" "${cfg[home_dir]}" "${cfg[default_shell]}"
{
  echo "# Written by the hyperpod-platform lifecycle (50-directory.sh); overwritten on each run."
  echo "# Directory users: keys from SSSD (altSecurityIdentities); local users keep ~/.ssh/authorized_keys."
  echo "# Only the directory groups allowed on this node's role (${HP_NODE_ROLE}) and the local admin groups may log in."
  echo "AuthorizedKeysCommand /usr/bin/sss_ssh_authorizedkeys %u"
  echo "AuthorizedKeysCommandUser nobody"
  echo "AllowGroups ${allowed_names[*]}${local_groups[*]:+ ${local_groups[*]}}"
} >"${work}/new/sshd.conf"
{
  echo "# Written by the hyperpod-platform lifecycle (50-directory.sh); overwritten on each run."
  echo "# Passwordless sudo for directory.sudo_groups allowed on this node's role only."
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
python3 "${HP_LIFECYCLE_DIR}/lib/directory.py" nsswitch "${nsswitch}" "${work}/new/nsswitch"

# Validate what can be validated before installing: sssctl needs the file root:root 0600 and a snippet
# dir (the node's own conf.d, whose snippets SSSD merges in, when there is one).
snippets="${HP_ROOT}/etc/sssd/conf.d"
[[ -d "${snippets}" ]] || snippets="${work}/check/conf.d"
mkdir -p "${snippets}"
install -m 0600 -o root -g root "${work}/new/sssd.conf" "${work}/check/sssd.conf"
# sssctl before SSSD 2.3 (Ubuntu 20.04 has 2.2) checks only the installed file: then the file is checked in
# place right after it is installed, and put back like every other file when it fails.
sssd_checked=0
# The help text is read whole first: `sssctl ... | grep -q` fails under pipefail when grep exits on its first
# match and sssctl then dies of SIGPIPE.
sssctl_help="$(sssctl config-check --help 2>&1 || true)"
if [[ "${sssctl_help}" == *--config* ]]; then
  if ! sssctl config-check -c "${work}/check/sssd.conf" -s "${snippets}" >"${work}/error" 2>&1; then
    die "sssctl rejects the rendered sssd.conf: $(error_summary 3)"
  fi
  sssd_checked=1
fi
install -m 0440 -o root -g root "${work}/new/sudoers" "${work}/check/sudoers"
if ! visudo -c -q -f "${work}/check/sudoers" >"${work}/error" 2>&1; then
  die "visudo rejects the rendered sudoers rule: $(error_summary)"
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
eic_removed=0
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
  if ((eic_removed)); then
    if apt_get install --no-install-recommends ec2-instance-connect && systemctl daemon-reload; then
      log "ec2-instance-connect reinstalled"
    else
      log "ERROR: cannot reinstall ec2-instance-connect"
    fi
  fi
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

ssh_changed=0
if installed ec2-instance-connect; then
  # Its sshd unit override sets its own AuthorizedKeysCommand, which would replace SSSD's. Removed only now
  # that the directory answers, so that a node whose directory is not ready keeps it.
  eic_removed=1
  apt_get remove ec2-instance-connect || rollback "could not remove ec2-instance-connect"
  # Its override lives in a systemd drop-in for the ssh unit: reload units so the restart below drops it.
  systemctl daemon-reload || rollback "systemctl daemon-reload failed after removing ec2-instance-connect"
  log "removed ec2-instance-connect (it overrides sshd's AuthorizedKeysCommand)"
  ssh_changed=1
fi
sssd_changed=0
write_if_changed "${HP_ROOT}${ca}" 0644 <"${work}/new/ca" && sssd_changed=1
write_if_changed "${sssd_conf}" 0600 <"${work}/new/sssd.conf" && sssd_changed=1
if ((!sssd_checked)); then
  log "this sssctl cannot check a file before it is installed; checking ${sssd_conf#"${HP_ROOT}"} in place"
  if ! sssctl config-check >"${work}/error" 2>&1; then
    rollback "sssctl rejects the rendered sssd.conf: $(error_summary 3)"
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
    rollback "pam-auth-update ${pam_args[*]} failed: $(error_summary)"
  fi
  pam_ok 2>/dev/null ||
    rollback "pam-auth-update did not enable pam_sss and pam_mkhomedir umask=0077 in /etc/pam.d/common-*: $(error_summary) (local changes to those files? pam-auth-update then leaves them alone)"
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
  rollback "visudo rejects the sudoers configuration with ${sudoers#"${HP_ROOT}"}: $(error_summary)"
fi

# --- restart what changed ----------------------------------------------------------------------------------
# The probe: one user, the bind user, looked up through sssd itself (not local files, not the memory-mapped
# cache): it proves the bind, the search base and the id mapping without listing a whole group.
probe="${cfg[bind_user]}"
probe_seconds="${HP_SSSD_PROBE_SECONDS:-30}"
[[ "${probe_seconds}" =~ ^[1-9][0-9]*$ ]] || die "HP_SSSD_PROBE_SECONDS must be a number of seconds"
if ((sssd_changed)); then
  sssd_restarted=1
  restart_sssd || rollback "systemctl restart sssd failed"
  resolved=0
  deadline=$((SECONDS + probe_seconds))
  while ((SECONDS < deadline)); do
    if SSS_NSS_USE_MEMCACHE=NO timeout 5 getent -s sss passwd "${probe}" >/dev/null; then
      resolved=1
      break
    fi
    sleep 0.5
  done
  ((resolved)) || rollback "sssd restarted but the bind user ${probe} does not resolve (getent -s sss passwd ${probe}) within ${probe_seconds} s; see /var/log/sssd"
  log "sssd restarted; directory user ${probe} resolves"
fi
if ((ssh_changed)); then
  ssh_restarted=1
  systemctl restart ssh || rollback "systemctl restart ssh failed"
  log "sshd restarted"
fi
install -d -m 0700 -o root -g root "${HP_ROOT}${STATE_DIR}"
write_if_changed "${state}" 0600 <"${work}/state" >/dev/null || true
installing=0
if ((sssd_changed || ssh_changed)); then
  log "directory ${domain} configured: on this ${HP_NODE_ROLE} node members of ${allowed_names[*]} may log in${sudo_groups[*]:+, ${sudo_groups[*]} with sudo}"
else
  log "directory ${domain} already configured (its files were up to date)"
fi
