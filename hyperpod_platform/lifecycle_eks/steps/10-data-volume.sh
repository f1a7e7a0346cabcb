#!/usr/bin/env bash
# containerd's and kubelet's data go on the instance group's extra EBS volume, which HyperPod mounts at
# /opt/sagemaker, so that large training images and pod data do not fill the root volume. A group without
# the volume keeps the defaults (the volume may appear a little after boot: wait HP_VOLUME_WAIT_SECONDS).
#
# containerd: a systemd drop-in starts it with --root on the volume (the flag overrides the root directory
# only; the config file the AMI and its bootstrap write stays as it is) and after the volume's mount. The
# first time, /var/lib/containerd (the AMI's preloaded images, such as the pause image) is copied there.
# kubelet: /var/lib/kubelet becomes a symbolic link to the volume, its contents moved there.
# A service that is running is stopped for the move and started again; one that is not (the usual case:
# HyperPod starts them when it joins the node, after OnCreate) is left to HyperPod.
# The volume outlives the root volume across an AMI update: data on it that this root volume did not put
# there is stale and replaced. A second run changes nothing and restarts nothing.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "${HP_LIFECYCLE_DIR}/lib/common.sh"

VOLUME=/opt/sagemaker
DATA_ROOT="${VOLUME}/containerd/data-root"
KUBELET_DIR="${VOLUME}/kubelet"
CONTAINERD_BIN=/usr/bin/containerd
DROP_IN=/etc/systemd/system/containerd.service.d/90-hyperpod-platform-data-root.conf

wait_seconds="${HP_VOLUME_WAIT_SECONDS:-60}"
poll_seconds="${HP_VOLUME_POLL_SECONDS:-5}"
[[ "${wait_seconds}" =~ ^[0-9]+$ && "${poll_seconds}" =~ ^[1-9][0-9]*$ ]] ||
  die "HP_VOLUME_WAIT_SECONDS and HP_VOLUME_POLL_SECONDS must be whole seconds (got '${wait_seconds}', '${poll_seconds}')"

# --- the volume -------------------------------------------------------------------------------------
mounts="${HP_ROOT}/proc/mounts"
[[ -r "${mounts}" ]] || die "cannot read /proc/mounts"
mounted() { awk -v mp="${VOLUME}" '$2 == mp { found = 1 } END { exit !found }' "${mounts}"; }
waited=0
until mounted; do
  if ((waited >= wait_seconds)); then
    log "nothing mounted at ${VOLUME} after ${waited} s: this group has no extra EBS volume;" \
      "containerd and kubelet keep their data on the root volume"
    exit 0
  fi
  log "waiting for ${VOLUME} to be mounted (${waited} of ${wait_seconds} s)"
  sleep "${poll_seconds}"
  waited=$((waited + poll_seconds))
done
log "${VOLUME} is mounted"

# copy_dir SRC DEST: DEST becomes a copy of directory SRC (modes, owners, links; an empty directory when SRC
# does not exist), made under DEST.partial and renamed, so that a DEST that exists is complete.
copy_dir() {
  local src="${HP_ROOT}$1" dest="${HP_ROOT}$2" partial="${HP_ROOT}$2.partial"
  rm -rf "${partial}" || die "cannot remove $2.partial"
  mkdir -p "$(dirname "${dest}")" || die "cannot create $(dirname "$2")"
  if [[ -L "${src}" ]]; then
    die "$1 is a symbolic link (to $(readlink "${src}")); not moving it"
  elif [[ -d "${src}" ]]; then
    cp -a "${src}" "${partial}" || die "cannot copy $1 to $2.partial"
  else
    mkdir -m 0700 "${partial}" || die "cannot create $2.partial"
  fi
  mv -T "${partial}" "${dest}" || die "cannot rename $2.partial to $2"
  log "copied $1 to $2"
}

# stop_if_active UNIT: stops UNIT when it runs; prints 1 when it did (to start it again), else 0.
stop_if_active() {
  if systemctl is-active --quiet "$1"; then
    log "$1 is running: stopping it while its data moves" >&2
    systemctl stop "$1" || die "systemctl stop $1 failed"
    echo 1
  else
    echo 0
  fi
}

# --- containerd -------------------------------------------------------------------------------------
drop_in="$(
  cat <<CONF
# Written by the hyperpod-platform lifecycle (OnCreate, 10-data-volume.sh): containerd keeps its data on
# the instance group's EBS volume at ${VOLUME}. --root overrides only the root directory of the config
# file containerd reads. Remove this file and run systemctl daemon-reload to go back to /var/lib/containerd.
[Unit]
RequiresMountsFor=${VOLUME}

[Service]
ExecStart=
ExecStart=${CONTAINERD_BIN} --root ${DATA_ROOT}
CONF
)"
if [[ -d "${HP_ROOT}${DATA_ROOT}" && -f "${HP_ROOT}${DROP_IN}" ]] &&
  printf '%s\n' "${drop_in}" | cmp -s - "${HP_ROOT}${DROP_IN}" &&
  [[ "$(stat -c %a "${HP_ROOT}${DROP_IN}")" == 644 ]]; then
  log "containerd already keeps its data in ${DATA_ROOT}"
else
  # The drop-in replaces ExecStart: only do that over the plain command it expects (or its own), never drop
  # arguments an AMI's unit would add.
  exec_start="$(systemctl show containerd.service --property=ExecStart --value)" ||
    die "systemctl show containerd.service failed"
  argv="$(sed -n 's/.*argv\[\]=\([^;]*\);.*/\1/p' <<<"${exec_start}" | sed 's/ *$//')"
  if [[ "${argv}" != "${CONTAINERD_BIN}" && "${argv}" != "${CONTAINERD_BIN} --root ${DATA_ROOT}" ]]; then
    die "containerd.service starts '${argv:-nothing}' (ExecStart: ${exec_start:-none}), not '${CONTAINERD_BIN}':" \
      "a drop-in replacing it would lose that; containerd's data stays where it is"
  fi
  containerd_was_running="$(stop_if_active containerd.service)"
  # Our drop-in marks data this root volume put on the volume; without it, a data-root is an earlier one's.
  if [[ -e "${HP_ROOT}${DATA_ROOT}" && ! -e "${HP_ROOT}${DROP_IN}" ]]; then
    log "removing ${DATA_ROOT}: an earlier root volume (before an AMI update) left it, not this one"
    rm -rf "${HP_ROOT}${DATA_ROOT}" || die "cannot remove the stale ${DATA_ROOT}"
  fi
  [[ -d "${HP_ROOT}${DATA_ROOT}" ]] || copy_dir /var/lib/containerd "${DATA_ROOT}"
  if ! write_if_changed "${HP_ROOT}${DROP_IN}" 0644 <<<"${drop_in}"; then
    log "${DROP_IN} already right"
  fi
  systemctl daemon-reload || die "systemctl daemon-reload failed after writing ${DROP_IN}"
  if ((containerd_was_running)); then
    systemctl start containerd.service || die "systemctl start containerd.service failed (data root ${DATA_ROOT})"
    log "containerd started again on ${DATA_ROOT}"
  fi
  log "containerd keeps its data in ${DATA_ROOT}"
fi

# --- kubelet ----------------------------------------------------------------------------------------
link="${HP_ROOT}/var/lib/kubelet"
if [[ -L "${link}" ]]; then
  target="$(readlink "${link}")"
  [[ "${target}" == "${KUBELET_DIR}" ]] ||
    die "/var/lib/kubelet is a symbolic link to ${target}, not to ${KUBELET_DIR}; leaving it"
  [[ -d "${HP_ROOT}${KUBELET_DIR}" ]] ||
    die "/var/lib/kubelet links to ${KUBELET_DIR}, which is not a directory: kubelet's data is gone"
  log "kubelet already keeps its data in ${KUBELET_DIR}"
else
  kubelet_was_running="$(stop_if_active kubelet.service)"
  # /var/lib/kubelet is not our link yet, so a kubelet directory on the volume is an earlier root volume's.
  if [[ -e "${HP_ROOT}${KUBELET_DIR}" ]]; then
    log "removing ${KUBELET_DIR}: an earlier root volume (before an AMI update) left it, not this one"
    rm -rf "${HP_ROOT}${KUBELET_DIR}" || die "cannot remove the stale ${KUBELET_DIR}"
  fi
  copy_dir /var/lib/kubelet "${KUBELET_DIR}"
  rm -rf "${link}" || die "cannot remove /var/lib/kubelet after copying it to ${KUBELET_DIR}"
  mkdir -p "$(dirname "${link}")" || die "cannot create /var/lib"
  ln -s "${KUBELET_DIR}" "${link}" || die "cannot link /var/lib/kubelet to ${KUBELET_DIR}"
  if ((kubelet_was_running)); then
    systemctl start kubelet.service || die "systemctl start kubelet.service failed"
    log "kubelet started again"
  fi
  log "kubelet keeps its data in ${KUBELET_DIR} (/var/lib/kubelet links there)"
fi
