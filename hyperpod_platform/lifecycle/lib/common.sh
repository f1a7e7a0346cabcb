# shellcheck shell=bash
# Helpers shared by the lifecycle steps. HP_ROOT prefixes every host path: empty on a node, a scratch
# directory in tests.
HP_ROOT="${HP_ROOT:-}"
HP_LOG_TAG="${HP_LOG_TAG:-lifecycle}"

log() { printf '%s [%s] %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${HP_LOG_TAG}" "$*"; }

die() {
  log "ERROR: $*" >&2
  exit 1
}

# Reading the rendered platform.json goes through lib/platform_json.py, which checks its schema_version and
# that every key read is there. A value (or a section on its path) that is null is a feature that is off; a
# missing key is a broken bundle: the reader dies naming it. Call the readers in an assignment
# (x="$(platform_get k)"), where `set -e` stops the step when they fail, or in `if` for platform_enabled.
HP_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# platform_read MODE KEY: lib/platform_json.py MODE on HP_PLATFORM_JSON; dies with its message on failure.
platform_read() {
  local out status=0 err
  err="$(mktemp)"
  out="$(python3 "${HP_LIB_DIR}/platform_json.py" "$1" "${HP_PLATFORM_JSON}" "$2" 2>"${err}")" || status=$?
  if ((status != 0)); then
    local message
    message="$(tail -n 1 "${err}")"
    rm -f "${err}"
    die "${message:-lib/platform_json.py $1 $2 failed (exit ${status})}"
  fi
  rm -f "${err}"
  [[ -z "${out}" ]] || printf '%s\n' "${out}"
}

# platform_get KEY.PATH: a value from platform.json ("" when it, or a section on its path, is null; an
# object or list as JSON). Dies naming the key when it is missing.
platform_get() { platform_read get "$1"; }

# platform_list KEY.PATH: the items of a list value, one per line, or of an object, one "key<TAB>value"
# line per entry (nothing when null). Dies, saying why, when the key is missing, the value is neither, or
# an item is not a string or holds a tab or a line break (it could not be read back line by line).
platform_list() { platform_read list "$1"; }

# platform_enabled SECTION: true when the feature's section (fsx, login, directory) is an object, false
# when it is null. Dies naming it when the key is missing, even inside `if`.
platform_enabled() {
  local state
  state="$(platform_read enabled "$1")" || exit 1 # platform_read has said why
  [[ "${state}" == on ]]
}

# write_if_changed DEST MODE < content: put content at DEST with MODE (root-owned) only when the file or its
# mode differ. DEST is replaced by a rename (a temporary file in its directory, then mv), never rewritten in
# place: a reader sees the old file or the new one, never a partial one, and a run reading the old script
# keeps reading it. Returns 0 when it wrote, 1 when DEST was already right.
write_if_changed() {
  local dest="$1" mode="$2" tmp
  # Checked explicitly: callers use this in `if`/`&&`, where bash does not apply `set -e` inside functions.
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
