#!/usr/bin/env bash
# Keep the platform's node logs bounded: rotate /var/log/hyperpod-platform/*.log weekly.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "${HP_LIFECYCLE_DIR}/lib/common.sh"

mkdir -p "${HP_ROOT}/var/log/hyperpod-platform"
if write_if_changed "${HP_ROOT}/etc/logrotate.d/hyperpod-platform" 0644 <<'CONF'; then
/var/log/hyperpod-platform/*.log {
    weekly
    rotate 8
    compress
    missingok
    notifempty
    copytruncate
}
CONF
  log "log rotation configured"
else
  log "log rotation already configured"
fi
