# shellcheck shell=bash disable=SC2154 # work, uri, bind_dn: set by the step before these are called
# Helpers of steps/50-directory.sh (sourced after common.sh). They use the step's ${work} directory (0700)
# for command output and errors; the bind password lives only in ${work}/password.

# The stable copy the timer runs from (HyperPod's bundle directory is temporary), and the timer itself.
STABLE_DIR="/opt/hyperpod-platform/lifecycle"
STABLE_FILES=(lib/common.sh lib/platform_json.py lib/directory.sh lib/directory.py steps/50-directory.sh)
UNIT="hyperpod-directory"
# shellcheck disable=SC2034 # used by the step: where it keeps the versions it applied
STATE_DIR="/var/lib/hyperpod-platform"
# The service's TimeoutStartSec, and how long a run waits for another run's lock: clearly less, so that
# systemd never kills a run that is only waiting. A run that systemd stops rolls back (packages included)
# within ROLLBACK_SECONDS (TimeoutStopSec) before it is killed.
SERVICE_TIMEOUT_SECONDS=1800
ROLLBACK_SECONDS=600
# shellcheck disable=SC2034 # used by the step
LOCK_WAIT_SECONDS=1200

# AWS CLI errors that a later run would get again (an invalid request or name, a malformed region, a broken
# CLI configuration), as an extended regex on its error output; see aws_failure_is_final.
AWS_FINAL_ERRORS='ValidationException|InvalidParameterException|Invalid length for parameter|region_name|Invalid endpoint'

# aws_failure_is_final STATUS: true when the last aws call (its error in ${work}/error) failed in a way no
# later run can fix: no aws CLI (126, 127), a command the CLI refuses (252: bad syntax or parameters, 253: bad
# configuration), or one of AWS_FINAL_ERRORS. Service errors (254: throttling, access denied, ...) and the
# catch-all 255 (no connection to the endpoint) are transient.
aws_failure_is_final() {
  case "$1" in
    126 | 127 | 252 | 253) return 0 ;;
  esac
  grep -qE -- "${AWS_FINAL_ERRORS}" "${work}/error" 2>/dev/null
}

# ldapsearch answers that are final (the entry is not there, the DN is malformed), as an extended regex.
# shellcheck disable=SC2034 # used by the step
LDAP_FINAL_ERRORS='No such object|Invalid DN syntax'

# ldap_failure_is_transient STATUS: true when ldapsearch's exit status says the server could not be reached
# or could not answer right now: 255 (-1, "Can't contact LDAP server"), 251 (-5, timeout), 245 (-11, connect
# error), 51 (busy), 52 (unavailable), 3 (time limit), or 124 (killed by `timeout`).
ldap_failure_is_transient() {
  case "$1" in
    3 | 51 | 52 | 124 | 245 | 251 | 255) return 0 ;;
  esac
  return 1
}

# error_summary [LINES]: the first lines of the last command's error output, on one line.
error_summary() { grep -v '^$' "${work}/error" 2>/dev/null | head -n "${1:-2}" | tr '\n\t' '  ' || true; }

# retry WHAT STOP CMD...: run CMD (its stderr to ${work}/error) up to HP_DIRECTORY_ATTEMPTS times (5),
# waiting base, 2 x base, 4 x base... seconds in between (base: HP_DIRECTORY_RETRY_DELAY, 1 s). An error
# matching the extended regex STOP is an answer, not a transient failure: no more attempts then.
retry() {
  local what="$1" stop="$2" attempts="${HP_DIRECTORY_ATTEMPTS:-5}" delay="${HP_DIRECTORY_RETRY_DELAY:-1}"
  local attempt status
  shift 2
  [[ "${attempts}" =~ ^[1-9][0-9]*$ && "${delay}" =~ ^[0-9]+$ ]] ||
    die "HP_DIRECTORY_ATTEMPTS and HP_DIRECTORY_RETRY_DELAY must be whole numbers"
  for ((attempt = 1; ; attempt++)); do
    status=0
    "$@" 2>"${work}/error" || status=$?
    ((status)) || return 0
    # A command that is missing or cannot run fails the same way every time.
    ((status != 126 && status != 127)) || return "${status}"
    if [[ -n "${stop}" ]] && grep -qE -- "${stop}" "${work}/error"; then return "${status}"; fi
    ((attempt < attempts)) || return "${status}"
    log "${what} failed (attempt ${attempt}/${attempts}; again in ${delay} s): $(error_summary 2)"
    sleep "${delay}"
    delay=$((delay * 2))
  done
}

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

# ldap TOOL ARGS...: a simple bind as the bind user over LDAPS, trusting only the CA from the parameter.
ldap() {
  local tool="$1"
  shift
  LDAPTLS_CACERT="${work}/ca.pem" LDAPTLS_REQCERT=hard timeout 60 "${tool}" -x -o nettimeout=10 -H "${uri}" \
    -D "${bind_dn}" -y "${work}/password" "$@"
}

# bind_reason: why the last bind failed (${work}/error), with what AD's sub-codes mean and, when the server
# could not be reached, whether TCP or the certificate failed (openssl says; no credentials involved).
bind_reason() {
  local reason hostport
  reason="$(error_summary 2)"
  if [[ "${reason}" == *"Can't contact LDAP server"* ]] && command -v openssl >/dev/null; then
    hostport="${uri#ldaps://}"
    hostport="${hostport%/}"
    [[ "${hostport}" == *:* ]] || hostport="${hostport}:636"
    reason+="; TLS check: $(timeout 15 openssl s_client -connect "${hostport}" -servername "${hostport%:*}" \
      -verify_hostname "${hostport%:*}" -CAfile "${work}/ca.pem" -verify_return_error -brief </dev/null 2>&1 |
      grep -m 1 -E 'verify error|errno=|Verification: OK' || echo "no answer from ${hostport}")"
  fi
  # AD's sub-codes of "Invalid credentials (49)" tell a wrong password from an account problem; the
  # domain's default policy expires passwords (42 days in AWS Managed Microsoft AD).
  case "${reason}" in
    *"data 532"* | *"data 773"*) reason+="; the bind user's password has expired or must be changed: rotate it (bump directory.bindPasswordVersion, pulumi up; nodes pick it up on their own), and exempt the bind user from expiry with a fine-grained password policy" ;;
    *"data 533"*) reason+="; the bind user's account is disabled in the directory" ;;
    *"data 701"*) reason+="; the bind user's account has expired in the directory" ;;
    *"data 775"*) reason+="; the bind user's account is locked out (too many failed binds)" ;;
  esac
  printf '%s' "${reason}"
}

# install_timer: the stable copy of what this step needs, and a timer that re-runs it every few minutes
# (it applies a directory that was not ready at boot, a new parameter version or a rotated bind password).
# Returns once the units are in place and enabled; changes nothing when they already are.
install_timer() {
  local rel changed=0 dest="${HP_ROOT}${STABLE_DIR}" units="${HP_ROOT}/etc/systemd/system"
  [[ "${HP_NODE_ROLE}" =~ ^[a-z]+$ && "${HP_NODE_GROUP:-}" =~ ^[A-Za-z0-9_.-]*$ ]] ||
    die "HP_NODE_ROLE '${HP_NODE_ROLE}' / HP_NODE_GROUP '${HP_NODE_GROUP:-}' are not plain names"
  for rel in "${STABLE_FILES[@]}"; do
    write_if_changed "${dest}/${rel}" 0644 <"${HP_LIFECYCLE_DIR}/${rel}" || true
  done
  write_if_changed "${dest}/generated/platform.json" 0644 <"${HP_PLATFORM_JSON}" || true
  write_if_changed "${units}/${UNIT}.service" 0644 <<UNITFILE && changed=1
# Written by the hyperpod-platform lifecycle (50-directory.sh); overwritten on each run.
[Unit]
Description=hyperpod-platform: apply the directory (SSSD) configuration when it is ready or changes
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
TimeoutStartSec=${SERVICE_TIMEOUT_SECONDS}
TimeoutStopSec=${ROLLBACK_SECONDS}
Environment=HP_LIFECYCLE_DIR=${STABLE_DIR}
Environment=HP_PLATFORM_JSON=${STABLE_DIR}/generated/platform.json
Environment=HP_NODE_ROLE=${HP_NODE_ROLE}
Environment=HP_NODE_GROUP=${HP_NODE_GROUP:-}
Environment=HP_LOG_TAG=50-directory
ExecStart=/bin/bash ${STABLE_DIR}/steps/50-directory.sh
UNITFILE
  write_if_changed "${units}/${UNIT}.timer" 0644 <<UNITFILE && changed=1
# Written by the hyperpod-platform lifecycle (50-directory.sh); overwritten on each run.
[Unit]
Description=hyperpod-platform: re-run the directory step every few minutes

[Timer]
# Not OnBootSec: enabled after boot, an elapsed OnBootSec would fire at once, beside the running step.
OnActiveSec=5min
OnUnitInactiveSec=5min
RandomizedDelaySec=30s

[Install]
WantedBy=timers.target
UNITFILE
  if ((changed)); then
    if ! systemctl daemon-reload || ! systemctl enable --now "${UNIT}.timer"; then
      rm -f "${units}/${UNIT}.service" "${units}/${UNIT}.timer" # so that the next run tries again
      die "cannot enable ${UNIT}.timer"
    fi
    log "${UNIT}.timer enabled: re-runs this step from ${STABLE_DIR} every 5 minutes"
  fi
}
