#!/usr/bin/env bash
# A login node serves behind the login NLB without a `pulumi up`, also when node recovery replaced it with
# a new IP: it registers its own address in the NLB's target group and deregisters the targets that no
# network interface holds any more (the node it replaces). Runs at boot, after the shared host keys are in
# place, then from a timer. The target group is platform.json's login_targets (the stack makes it from the
# VPC alone, so the cluster does not wait for the NLB). An AWS call that fails (e.g. the inline policy is not
# there yet) defers: the step says why, exits 0 (a node is not failed for its load balancer) and the timer
# tries again.
# Only IPs that no node's ENI in the VPC holds are removed (none, or only a load balancer's or endpoint's,
# which the lookup of an older version may have registered): a live node is never taken out.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "${HP_LIFECYCLE_DIR}/lib/common.sh"
# shellcheck source=../lib/login_target.sh
source "${HP_LIFECYCLE_DIR}/lib/login_target.sh"

if [[ "${HP_NODE_ROLE:-}" != "login" ]]; then
  log "not a login node (${HP_NODE_ROLE:-unknown}); no target to register"
  exit 0
fi
if ! platform_enabled login || ! platform_enabled login_targets; then
  log "login nodes do not register themselves in this stack; targets stay as they are"
  exit 0
fi
target_group="$(platform_get login_targets.target_group_arn)"
port="$(platform_get login_targets.port)"
vpc="$(platform_get login_targets.vpc_id)"
region="$(platform_get region)"
[[ "${target_group}" =~ ^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:[0-9]{12}:targetgroup/[A-Za-z0-9-]+/[0-9a-f]+$ ]] ||
  die "platform.json login_targets.target_group_arn '${target_group}' is not a target group ARN"
[[ "${port}" =~ ^[0-9]{1,5}$ ]] || die "platform.json login_targets.port '${port}' is not a port"
[[ "${vpc}" =~ ^vpc-[0-9a-f]+$ ]] || die "platform.json login_targets.vpc_id '${vpc}' is not a VPC id"
helper() { python3 "${HP_LIFECYCLE_DIR}/lib/login_target.py" "$@"; }

self_ip="${HP_LOGIN_TARGET_IP:-}"
if [[ -z "${self_ip}" ]]; then
  read -r -a node_ips <<<"${HP_NODE_IP:-$(hostname -I)}"
  self_ip="$(helper self-ip "${HP_RESOURCE_CONFIG}" "${node_ips[@]}")" ||
    die "cannot tell this node's address in the VPC (addresses: ${node_ips[*]})"
fi
[[ "${self_ip}" =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "this node's address '${self_ip}' is not an IPv4 address"
lt_install_timer "${self_ip}"

mkdir -p "${HP_ROOT}/run/lock"
exec 9>"${HP_ROOT}/run/lock/${LT_UNIT}.lock"
defer() {
  log "deferred: $*; ${LT_UNIT}.timer tries again in a few minutes"
  exit 0
}
flock -w 120 9 || defer "another run of this step holds ${HP_ROOT}/run/lock/${LT_UNIT}.lock"
work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT

# call WHAT OUT ARGS...: aws ARGS (JSON into OUT); a failure defers naming WHAT, no aws CLI is an error.
call() {
  local what="$1" out="$2" status=0
  shift 2
  aws "$@" --region "${region}" --output json >"${out}" 2>"${work}/error" || status=$?
  ((status != 127)) || die "no aws CLI on this node: cannot ${what}"
  ((status == 0)) || defer "cannot ${what}: $(tail -n 2 "${work}/error" | tr '\n' ' ')"
}

call "list the targets of ${target_group}" "${work}/health" elbv2 describe-target-health --target-group-arn "${target_group}"
targets="$(helper targets "${work}/health")" || die "cannot read the targets of ${target_group}"

changed=0
if ! grep -Eq "^${self_ip//./\\.} ${port} (initial|healthy|unhealthy|unused|unavailable)$" <<<"${targets}"; then
  call "register ${self_ip}:${port} in ${target_group}" /dev/null \
    elbv2 register-targets --target-group-arn "${target_group}" --targets "Id=${self_ip},Port=${port}"
  log "registered ${self_ip}:${port} in ${target_group}"
  changed=1
fi

others="$(awk -v self="${self_ip}" '$1 != self { print $1 }' <<<"${targets}" | sort -u | paste -sd, -)"
if [[ -n "${others}" ]]; then
  call "look up the network interfaces holding ${others}" "${work}/enis" ec2 describe-network-interfaces \
    --filters "Name=vpc-id,Values=${vpc}" "Name=addresses.private-ip-address,Values=${others}"
  held="$(helper held "${work}/enis")" || die "cannot read the network interfaces of ${vpc}"
  while read -r id target_port _; do
    [[ -n "${id}" && "${id}" != "${self_ip}" ]] || continue
    if ! grep -qxF "${id}" <<<"${held}"; then
      call "deregister stale target ${id}:${target_port}" /dev/null \
        elbv2 deregister-targets --target-group-arn "${target_group}" --targets "Id=${id},Port=${target_port}"
      log "deregistered ${id}:${target_port} from ${target_group}: no node's network interface in ${vpc} holds it"
      changed=1
    fi
  done <<<"${targets}"
fi
((changed)) || log "${self_ip}:${port} already registered in ${target_group}; no stale target"
