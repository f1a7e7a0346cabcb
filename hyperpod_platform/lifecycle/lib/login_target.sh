# shellcheck shell=bash
# Helpers of steps/45-login-target.sh (sourced after common.sh).

# The stable copy the timer runs from (HyperPod's bundle directory is temporary), and the timer itself.
LT_STABLE_DIR="/opt/hyperpod-platform/lifecycle"
LT_FILES=(lib/common.sh lib/platform_json.py lib/login_target.sh lib/login_target.py steps/45-login-target.sh)
LT_UNIT="hyperpod-login-target"

# lt_install_timer SELF_IP: the stable copy of what the step needs and a timer re-running it every few
# minutes (a deferred registration, and targets that go stale later). Changes nothing when in place.
lt_install_timer() {
  local rel changed=0 dest="${HP_ROOT}${LT_STABLE_DIR}" units="${HP_ROOT}/etc/systemd/system"
  for rel in "${LT_FILES[@]}"; do
    write_if_changed "${dest}/${rel}" 0644 <"${HP_LIFECYCLE_DIR}/${rel}" || true
  done
  write_if_changed "${dest}/generated/platform.json" 0644 <"${HP_PLATFORM_JSON}" || true
  write_if_changed "${units}/${LT_UNIT}.service" 0644 <<UNITFILE && changed=1
# Written by the hyperpod-platform lifecycle (45-login-target.sh); overwritten on each run.
[Unit]
Description=hyperpod-platform: keep this login node in the login NLB's target group
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
TimeoutStartSec=600
Environment=HP_LIFECYCLE_DIR=${LT_STABLE_DIR}
Environment=HP_PLATFORM_JSON=${LT_STABLE_DIR}/generated/platform.json
Environment=HP_NODE_ROLE=login
Environment=HP_LOGIN_TARGET_IP=$1
Environment=HP_LOG_TAG=45-login-target
ExecStart=/bin/bash ${LT_STABLE_DIR}/steps/45-login-target.sh
UNITFILE
  write_if_changed "${units}/${LT_UNIT}.timer" 0644 <<UNITFILE && changed=1
# Written by the hyperpod-platform lifecycle (45-login-target.sh); overwritten on each run.
[Unit]
Description=hyperpod-platform: re-run the login target step every few minutes

[Timer]
OnActiveSec=5min
OnUnitInactiveSec=5min
RandomizedDelaySec=30s

[Install]
WantedBy=timers.target
UNITFILE
  if ((changed)); then
    if ! systemctl daemon-reload || ! systemctl enable --now "${LT_UNIT}.timer"; then
      rm -f "${units}/${LT_UNIT}.service" "${units}/${LT_UNIT}.timer" # so that the next run tries again
      die "cannot enable ${LT_UNIT}.timer"
    fi
    log "${LT_UNIT}.timer enabled: re-runs this step from ${LT_STABLE_DIR} every 5 minutes"
  fi
}
