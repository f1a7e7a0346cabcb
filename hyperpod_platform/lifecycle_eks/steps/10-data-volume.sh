#!/usr/bin/env bash
# containerd's data goes on the instance group's extra EBS volume, which HyperPod mounts at /opt/sagemaker,
# so that large training images do not fill the root volume. This is what AWS's sample OnCreate does
# (aws/sagemaker-hyperpod-cluster-setup, eks/.../lifecycle-script/base-config/on_create.sh): it sets
#   root = "/opt/sagemaker/containerd/data-root"
# in /etc/eks/containerd/containerd-config.toml, the template from which the EKS AMI's bootstrap.sh writes
# /etc/containerd/config.toml and (re)starts containerd when HyperPod joins the node, after OnCreate.
# Nothing else: no systemd unit is written, nothing is stopped or started, /var/lib/kubelet stays as it is.
# A group without the volume (it may appear a little after boot: wait HP_VOLUME_WAIT_SECONDS), or an AMI
# without that file, keeps the defaults, said in the log. A second run changes nothing.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "${HP_LIFECYCLE_DIR}/lib/common.sh"

VOLUME=/opt/sagemaker
DATA_ROOT="${VOLUME}/containerd/data-root"
CONFIG=/etc/eks/containerd/containerd-config.toml
ROOT_LINE="root = \"${DATA_ROOT}\""

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
      "containerd keeps its data on the root volume"
    exit 0
  fi
  log "waiting for ${VOLUME} to be mounted (${waited} of ${wait_seconds} s)"
  sleep "${poll_seconds}"
  waited=$((waited + poll_seconds))
done
log "${VOLUME} is mounted"

# --- containerd's root ------------------------------------------------------------------------------
config="${HP_ROOT}${CONFIG}"
if [[ ! -f "${config}" ]]; then
  log "WARNING: ${CONFIG} not found (this AMI does not use it): containerd keeps its data where the AMI puts it"
  exit 0
fi
if [[ ! -d "${HP_ROOT}${DATA_ROOT}" ]]; then
  # 0711, the mode containerd gives the root directory it makes itself
  { mkdir -p "$(dirname "${HP_ROOT}${DATA_ROOT}")" && mkdir -m 0711 "${HP_ROOT}${DATA_ROOT}"; } ||
    die "cannot create ${DATA_ROOT}"
  log "created ${DATA_ROOT}"
fi
# The sample's edit (every line matching ^[# ]*root\s*= becomes the root line), kept to the top-level keys
# (before the first [table]; a table's own root is not containerd's) and to one root line (a commented and
# an active one would otherwise both become it: a duplicate key). No such line: one before the first table.
mode="$(stat -c %a "${config}")" || die "cannot read the mode of ${CONFIG}"
updated="$(mktemp)" || die "cannot create a temporary file"
awk -v line="${ROOT_LINE}" '
  /^[[:space:]]*\[/ && !table { table = 1; if (!done) { print line; done = 1 } }
  !table && /^[# ]*root[[:space:]]*=/ { if (!done) { print line; done = 1 } next }
  { print }
  END { if (!done) print line }
' "${config}" >"${updated}" || { rm -f "${updated}"; die "cannot read ${CONFIG}"; }
if write_if_changed "${config}" "${mode}" <"${updated}"; then
  log "containerd keeps its data in ${DATA_ROOT} (${CONFIG}: ${ROOT_LINE})"
else
  log "containerd already keeps its data in ${DATA_ROOT} (${CONFIG})"
fi
rm -f "${updated}"
