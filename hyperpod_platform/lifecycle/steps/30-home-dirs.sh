#!/usr/bin/env bash
# Home directories live on the shared file system: <mount>/home/<user>, created on first login (the
# identity step adds pam_mkhomedir). Here: the home root itself, root-owned and not writable by users.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "${HP_LIFECYCLE_DIR}/lib/common.sh"

if ! platform_enabled fsx; then
  log "no shared file system; homes stay local"
  exit 0
fi
mount_path="$(platform_get fsx.mount_path)"
[[ -n "${mount_path}" ]] || die "platform.json fsx.mount_path is empty"
home_root="${HP_ROOT}${mount_path}/home"
if [[ -d "${home_root}" && "$(stat -c '%a %U %G' "${home_root}")" == "755 root root" ]]; then
  log "home root ${mount_path}/home ready"
  exit 0
fi
install -d -m 0755 -o root -g root "${home_root}" || die "cannot create ${mount_path}/home"
log "home root ${mount_path}/home created"
