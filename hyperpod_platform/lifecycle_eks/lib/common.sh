# shellcheck shell=bash
# Helpers of the EKS lifecycle scripts: log, die and write_if_changed are the Slurm bundle's (lib/shared.sh
# links to lifecycle/lib/common.sh, one file; the upload and the wheel carry its content into this bundle),
# plus a trap that names a failing command. HP_ROOT prefixes every host path: empty on a node, a scratch
# directory in tests. Commands (sleep, mv, ...) are looked up on PATH, so tests put stubs first on it.
HP_LOG_TAG="${HP_LOG_TAG:-on_create}"
# shellcheck source=shared.sh
source "$(dirname "${BASH_SOURCE[0]}")/shared.sh"

# A command that fails where `set -e` stops the script (not in `if`, `&&` or `||`) is named before the exit,
# in functions too (errtrace).
set -o errtrace
trap 'log "ERROR: \"${BASH_COMMAND}\" failed (exit $?) at ${BASH_SOURCE[0]##*/} line ${LINENO}" >&2' ERR
