#!/usr/bin/env bash
# Login nodes share one SSH host identity, so users behind the load balancer never see "REMOTE HOST
# IDENTIFICATION HAS CHANGED". Pulumi generates the keys (pulumi-tls) into Secrets Manager; here a login
# node installs them, makes sshd offer only them, validates, and restarts sshd when anything changed.
# Private key material is never printed. The main sshd_config is not edited: it must Include
# sshd_config.d/*.conf before any HostKey line (the Debian/Ubuntu default); if not, the step fails.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "${HP_LIFECYCLE_DIR}/lib/common.sh"

if [[ "${HP_NODE_ROLE:-}" != "login" ]]; then
  log "not a login node (${HP_NODE_ROLE:-unknown}); host keys stay as they are"
  exit 0
fi
if ! platform_enabled login; then
  log "no login group in this stack; host keys stay as they are"
  exit 0
fi
secret_id="$(platform_get login.host_keys_secret_id)"
[[ -n "${secret_id}" ]] || die "platform.json login.host_keys_secret_id is empty"
region="$(platform_get region)"

ssh_dir="${HP_ROOT}/etc/ssh"
conf="${ssh_dir}/sshd_config.d/10-hyperpod-host-keys.conf"
kinds=(ed25519 ecdsa)
targets=("${conf}")
for kind in "${kinds[@]}"; do targets+=("${ssh_dir}/ssh_host_${kind}_key" "${ssh_dir}/ssh_host_${kind}_key.pub"); done
work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT

# Fetch and split the secret into ${work}/new/<file name> (0700 directory), checking each key pair.
mkdir -m 0700 "${work}/new" "${work}/old"
if ! aws secretsmanager get-secret-value --region "${region}" --secret-id "${secret_id}" \
  --query SecretString --output text >"${work}/secret.json" 2>"${work}/error"; then
  die "cannot read host keys secret ${secret_id}: $(tail -n 3 "${work}/error" | tr '\n' ' ')"
fi
if ! python3 - "${work}/secret.json" "${work}/new" "${kinds[@]}" 2>"${work}/error" <<'PY'; then
import json, os, sys
try:
    secret = json.load(open(sys.argv[1]))
except ValueError as e:
    sys.exit(f"SecretString is not JSON ({e})")
for kind in sys.argv[3:]:
    for name in (f"ssh_host_{kind}_key", f"ssh_host_{kind}_key.pub"):
        value = secret.get(name) if isinstance(secret, dict) else None
        if not isinstance(value, str) or not value.strip():
            sys.exit(f"no {name} in the secret")
        with open(os.path.join(sys.argv[2], name), "w") as out:
            out.write(value.strip() + "\n")
PY
  die "cannot read host keys secret ${secret_id}: $(tail -n 1 "${work}/error")"
fi
rm -f "${work}/secret.json"
for kind in "${kinds[@]}"; do
  key="${work}/new/ssh_host_${kind}_key"
  chmod 0600 "${key}"
  derived="$(ssh-keygen -y -f "${key}" 2>/dev/null | cut -d' ' -f1,2)" || derived=""
  [[ -n "${derived}" && "${derived}" == "$(cut -d' ' -f1,2 "${key}.pub")" ]] ||
    die "cannot read host keys secret ${secret_id}: ssh_host_${kind}_key is not a key matching ssh_host_${kind}_key.pub"
done
{
  echo "# Written by the hyperpod-platform lifecycle (40-login-host-keys.sh): every login node offers"
  echo "# the same host identity from Secrets Manager, and no per-node key. Overwritten on each run."
  for kind in "${kinds[@]}"; do echo "HostKey /etc/ssh/ssh_host_${kind}_key"; done
} >"${work}/new/conf"

# Install, keeping the previous files to put back if sshd would not accept the result.
for target in "${targets[@]}"; do
  [[ ! -e "${target}" ]] || cp -p "${target}" "${work}/old/"
done
restore() {
  for target in "${targets[@]}"; do
    if [[ -e "${work}/old/$(basename "${target}")" ]]; then
      cp -p "${work}/old/$(basename "${target}")" "${target}"
    else
      rm -f "${target}"
    fi
  done
}
changed=0
write_if_changed "${conf}" 0644 <"${work}/new/conf" && changed=1
for kind in "${kinds[@]}"; do
  write_if_changed "${ssh_dir}/ssh_host_${kind}_key" 0600 <"${work}/new/ssh_host_${kind}_key" && changed=1
  write_if_changed "${ssh_dir}/ssh_host_${kind}_key.pub" 0644 <"${work}/new/ssh_host_${kind}_key.pub" && changed=1
done

# Validate: sshd accepts the config, and its effective host keys are exactly the shared ones.
# sshd -t needs its privilege separation directory; systemd's ssh unit makes it the same way.
install -d -m 0755 "${HP_ROOT}/run/sshd"
wanted="$(for kind in "${kinds[@]}"; do echo "/etc/ssh/ssh_host_${kind}_key"; done | sort)"
if ! sshd -t -f "${ssh_dir}/sshd_config" 2>"${work}/error"; then
  restore
  die "sshd rejects the config with the shared host keys; previous files restored: $(tail -n 3 "${work}/error" | tr '\n' ' ')"
fi
offered="$(sshd -T -f "${ssh_dir}/sshd_config" 2>/dev/null | awk '$1 == "hostkey" { print $2 }' | sort)"
if [[ "${offered}" != "${wanted}" ]]; then
  restore
  die "sshd would offer host keys [$(echo "${offered}" | xargs)], not only [$(echo "${wanted}" | xargs)]: /etc/ssh/sshd_config must Include /etc/ssh/sshd_config.d/*.conf before any HostKey line; previous files restored"
fi

if ((changed)); then
  systemctl restart ssh || die "systemctl restart ssh failed after installing the shared host keys"
  log "shared host keys installed; sshd restarted"
else
  log "shared host keys already installed"
fi
