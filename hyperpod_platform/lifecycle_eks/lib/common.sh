# shellcheck shell=bash
# Helpers shared by the EKS lifecycle scripts. HP_ROOT prefixes every host path: empty on a node, a scratch
# directory in tests. Commands (systemctl, cp, sleep) are looked up on PATH, so tests put stubs first on it.
# The Slurm bundle (lifecycle/lib/common.sh) has the same log, die and write_if_changed; the two bundles are
# uploaded separately, so each carries its own copy.
HP_ROOT="${HP_ROOT:-}"
HP_LOG_TAG="${HP_LOG_TAG:-on_create}"

log() { printf '%s [%s] %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${HP_LOG_TAG}" "$*"; }

die() {
  log "ERROR: $*" >&2
  exit 1
}

# A command that fails where `set -e` stops the script (not in `if`, `&&` or `||`) is named before the exit,
# in functions too (errtrace).
set -o errtrace
trap 'log "ERROR: \"${BASH_COMMAND}\" failed (exit $?) at ${BASH_SOURCE[0]##*/} line ${LINENO}" >&2' ERR

# write_if_changed DEST MODE < content: put content at DEST with MODE (root-owned) only when the file or its
# mode differ, by a rename (never a partial file). Returns 0 when it wrote, 1 when DEST was already right.
write_if_changed() {
  local dest="$1" mode="$2" tmp
  # Checked explicitly: callers use this in `if`, where bash does not apply `set -e` inside functions.
  mkdir -p "$(dirname "${dest}")" || die "cannot create the directory of ${dest#"${HP_ROOT}"}"
  tmp="$(mktemp "${dest}.XXXXXX")" || die "cannot create a temporary file next to ${dest#"${HP_ROOT}"}"
  if ! cat >"${tmp}"; then
    rm -f "${tmp}"
    die "cannot write ${tmp#"${HP_ROOT}"}"
  fi
  if [[ -f "${dest}" ]] && cmp -s "${tmp}" "${dest}" && [[ "$(stat -c %a "${dest}")" == "${mode#0}" ]]; then
    rm -f "${tmp}"
    return 1
  fi
  if ! chown root:root "${tmp}" || ! chmod "${mode}" "${tmp}" || ! mv -f -T "${tmp}" "${dest}"; then
    rm -f "${tmp}"
    die "cannot install ${dest#"${HP_ROOT}"}"
  fi
  log "wrote ${dest#"${HP_ROOT}"}"
  return 0
}
