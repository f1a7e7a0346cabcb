#!/usr/bin/env bash
# Minimal HyperPod OnInitComplete script of this example: mount the FSx for Lustre file system.
# (The repository's full lifecycle/ bundle is not part of the hyperpod_platform package.)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# FSX_DNS_NAME, FSX_MOUNT_NAME, FSX_MOUNT_PATH: rendered by __main__.py at deploy time.
# shellcheck source=/dev/null
source "${HERE}/generated/fsx.env"

mkdir -p "${FSX_MOUNT_PATH}"
if ! mountpoint -q "${FSX_MOUNT_PATH}"; then
  mount -t lustre -o relatime,flock "${FSX_DNS_NAME}@tcp:/${FSX_MOUNT_NAME}" "${FSX_MOUNT_PATH}"
fi
echo "on_init_complete: ${FSX_MOUNT_PATH} mounted"
