#!/usr/bin/env bash
# HyperPod OnCreate entry point for EKS-orchestrated clusters. HyperPod itself installs the node and joins it
# to the EKS cluster; this runs what that leaves to us: every step in steps/, in order.
# Every line goes to stdout and to /var/log/provision/provisioning.log, the log AWS's sample lifecycle script
# writes. After a failure it waits HP_FAILURE_LOG_GRACE_SECONDS (60) before exiting, as that sample does, so
# that the log is uploaded before HyperPod replaces the node.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib/common.sh
source "${HERE}/lib/common.sh"

export HP_LIFECYCLE_DIR="${HERE}"
LOG_DIR="${HP_ROOT}/var/log/provision"
LOG_FILE="${LOG_DIR}/provisioning.log"
grace="${HP_FAILURE_LOG_GRACE_SECONDS:-60}"
[[ "${grace}" =~ ^[0-9]+$ ]] || die "HP_FAILURE_LOG_GRACE_SECONDS must be a whole number of seconds (got '${grace}')"
mkdir -p "${LOG_DIR}"

log "[start] on_create.sh (EKS node)" | tee -a "${LOG_FILE}"
for step in "${HERE}"/steps/*.sh; do
  name="$(basename "${step}" .sh)"
  if ! HP_LOG_TAG="${name}" bash "${step}" 2>&1 | tee -a "${LOG_FILE}"; then
    log "FAILED: step ${name}; its log lines are above and in ${LOG_FILE#"${HP_ROOT}"}" | tee -a "${LOG_FILE}"
    sync || true
    sleep "${grace}"
    exit 1
  fi
done
log "[stop] on_create.sh: all steps done" | tee -a "${LOG_FILE}"
