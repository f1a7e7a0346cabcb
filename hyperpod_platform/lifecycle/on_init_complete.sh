#!/usr/bin/env bash
# HyperPod OnInitComplete entry point (extended mode): HyperPod has already set up Slurm on this node.
# Runs every step in steps/ in order, with this node's instance group and role known to each step.
# Every line goes to stdout (HyperPod ships it to CloudWatch) and to /var/log/hyperpod-platform/.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib/common.sh
source "${HERE}/lib/common.sh"

export HP_LIFECYCLE_DIR="${HERE}"
export HP_PLATFORM_JSON="${HP_PLATFORM_JSON:-${HERE}/generated/platform.json}"
export HP_RESOURCE_CONFIG="${HP_RESOURCE_CONFIG:-${HP_ROOT}/opt/ml/config/resource_config.json}"
LOG_DIR="${HP_ROOT}/var/log/hyperpod-platform"
LOG_FILE="${LOG_DIR}/lifecycle.log"
mkdir -p "${LOG_DIR}"
fail() {
  log "ERROR: $*" | tee -a "${LOG_FILE}" >&2
  exit 1
}

[[ -r "${HP_PLATFORM_JSON}" ]] || fail "cannot read ${HP_PLATFORM_JSON}: the lifecycle bundle is incomplete"
[[ -r "${HP_RESOURCE_CONFIG}" ]] || fail "cannot read ${HP_RESOURCE_CONFIG}: HyperPod did not write the resource config"
# The node contract: a schema_version these scripts understand and every top-level key, before any step.
if ! problem="$(python3 "${HERE}/lib/platform_json.py" check "${HP_PLATFORM_JSON}" 2>&1)"; then
  fail "${problem}"
fi

node_ips="${HP_NODE_IP:-$(hostname -I)}"
# shellcheck disable=SC2086 # one argument per address
if ! identity="$(python3 "${HERE}/lib/node_info.py" "${HP_PLATFORM_JSON}" "${HP_RESOURCE_CONFIG}" ${node_ips})"; then
  fail "cannot tell this node's instance group (addresses: ${node_ips})"
fi
read -r HP_NODE_GROUP HP_NODE_ROLE <<<"${identity}"
export HP_NODE_GROUP HP_NODE_ROLE
log "node in group ${HP_NODE_GROUP} (${HP_NODE_ROLE}); running steps" | tee -a "${LOG_FILE}"

for step in "${HERE}"/steps/*.sh; do
  name="$(basename "${step}" .sh)"
  if ! HP_LOG_TAG="${name}" bash "${step}" 2>&1 | tee -a "${LOG_FILE}"; then
    log "FAILED: step ${name} on ${HP_NODE_GROUP}; its log lines are above and in ${LOG_FILE}" | tee -a "${LOG_FILE}"
    exit 1
  fi
done
log "all steps done" | tee -a "${LOG_FILE}"
