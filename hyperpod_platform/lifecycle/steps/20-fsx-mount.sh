#!/usr/bin/env bash
# Mount the stack's FSx for Lustre file system and keep it in fstab. Does nothing when FSx is off.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "${HP_LIFECYCLE_DIR}/lib/common.sh"

if ! platform_enabled fsx; then
  log "no FSx file system in this stack; nothing to mount"
  exit 0
fi
dns="$(platform_get fsx.dns_name)"
mount_name="$(platform_get fsx.mount_name)"
mount_path="$(platform_get fsx.mount_path)"
[[ -n "${dns}" && -n "${mount_name}" && -n "${mount_path}" ]] ||
  die "platform.json fsx needs a dns_name, mount_name and mount_path (dns_name '${dns}', mount_name '${mount_name}', mount_path '${mount_path}')"

# The stack config checks the mount path; check it again here, where it is used as root. Same list as
# stack_config.SYSTEM_DIRS.
system_dirs=(/bin /boot /dev /etc /home /lib /lib32 /lib64 /libx32 /opt/aws /opt/ml /opt/sagemaker /proc /root
  /run /sbin /sys /tmp /usr /var)
[[ "${mount_path}" =~ ^(/[A-Za-z0-9._-]+)+$ && "/${mount_path}/" != */./* && "/${mount_path}/" != */../* ]] ||
  die "fsx.mount_path '${mount_path}' is not a normalized absolute path"
for dir in "${system_dirs[@]}"; do
  if [[ "${mount_path}" == "${dir}" || "${mount_path}" == "${dir}/"* || "${dir}" == "${mount_path}/"* ]]; then
    die "fsx.mount_path ${mount_path} would hide or replace the system directory ${dir}"
  fi
done

device="${dns}@tcp:/${mount_name}"
options="defaults,noatime,flock,_netdev,x-systemd.automount,x-systemd.requires=network-online.target"
fstab="${HP_ROOT}/etc/fstab"
wanted="${device} ${mount_path} lustre ${options} 0 0"
touch "${fstab}"
if ! grep -qxF "${wanted}" "${fstab}"; then
  # Drop a stale line for the same mount point (e.g. a replaced file system), then add ours. The mount
  # point is compared as a string (a path may hold regex characters), and fstab keeps its mode.
  awk -v mp="${mount_path}" '$1 ~ /^#/ || $2 != mp' "${fstab}" >"${fstab}.new"
  printf '%s\n' "${wanted}" >>"${fstab}.new"
  chmod --reference="${fstab}" "${fstab}.new"
  mv "${fstab}.new" "${fstab}"
  log "fstab entry for ${mount_path} written"
  systemctl daemon-reload || die "systemctl daemon-reload failed after editing fstab"
fi

if grep -qsF " ${mount_path} lustre " "${HP_ROOT}/proc/mounts"; then
  log "${mount_path} already mounted"
  exit 0
fi
mkdir -p "${HP_ROOT}${mount_path}"
for attempt in 1 2 3 4 5; do
  if mount -t lustre -o noatime,flock "${device}" "${HP_ROOT}${mount_path}"; then
    break
  fi
  [[ "${attempt}" -lt 5 ]] || die "could not mount ${device} on ${mount_path} after ${attempt} attempts"
  log "mount of ${device} failed (attempt ${attempt}); retrying"
  sleep "${HP_RETRY_DELAY:-10}"
done
grep -qsF " ${mount_path} lustre " "${HP_ROOT}/proc/mounts" || die "${mount_path} is not mounted after mount returned"
log "mounted ${device} on ${mount_path}"
