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

# platform_get KEY.PATH: a value from the rendered platform.json ("" when null or absent).
platform_get() {
  python3 - "${HP_PLATFORM_JSON}" "$1" <<'PY'
import json, sys
value = json.load(open(sys.argv[1]))
for part in sys.argv[2].split("."):
    value = value.get(part) if isinstance(value, dict) else None
print("" if value is None else value)
PY
}

# platform_list KEY.PATH: the items of a list value, one per line, or of an object, one "key<TAB>value"
# line per entry (nothing when null or absent). Fails, saying why, when the value is neither, or when an
# item is not a string or holds a tab or a line break (it could not be read back line by line).
platform_list() {
  python3 - "${HP_PLATFORM_JSON}" "$1" <<'PY'
import json, sys
value = json.load(open(sys.argv[1]))
for part in sys.argv[2].split("."):
    value = value.get(part) if isinstance(value, dict) else None
if value is None:
    sys.exit(0)
if isinstance(value, dict):
    rows = list(value.items())
elif isinstance(value, list):
    rows = [(item,) for item in value]
else:
    sys.exit(f"platform.json {sys.argv[2]} is not a list or an object")
lines = []
for row in rows:
    for item in row:
        if not isinstance(item, str) or any(c in item for c in "\t\r\n"):
            sys.exit(f"platform.json {sys.argv[2]} holds {item!r}: not a single-line string")
    lines.append("\t".join(row))
if lines:
    print("\n".join(lines))
PY
}

# write_if_changed DEST MODE < content: install content at DEST with MODE (root-owned) only when the
# file or its mode differ. Returns 0 when it wrote, 1 when DEST was already right.
write_if_changed() {
  local dest="$1" mode="$2" tmp
  tmp="$(mktemp)"
  cat >"${tmp}"
  if [[ -f "${dest}" ]] && cmp -s "${tmp}" "${dest}" && [[ "$(stat -c %a "${dest}")" == "${mode#0}" ]]; then
    rm -f "${tmp}"
    return 1
  fi
  # Checked explicitly: callers use this in `if`, where bash does not apply `set -e` inside functions.
  mkdir -p "$(dirname "${dest}")" || die "cannot create the directory of ${dest#"${HP_ROOT}"}"
  install -m "${mode}" -o root -g root "${tmp}" "${dest}" || die "cannot install ${dest#"${HP_ROOT}"}"
  rm -f "${tmp}"
  log "wrote ${dest#"${HP_ROOT}"}"
  return 0
}
