"""Write one client's .ovpn profile from the stack's ``vpnProfiles`` output (JSON on stdin).

    pulumi stack output vpnProfiles --show-secrets --json | python -m tools.vpn_profile NAME FILE

The file is created with mode 0600: it holds the client's private key.
"""

from __future__ import annotations

import json
import os
import sys


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    name, path = argv
    profiles = json.load(sys.stdin)
    if name not in profiles:
        print(
            f"no VPN client {name!r} in this stack (clients: {', '.join(sorted(profiles)) or 'none'}); "
            "add it to hyperpod-platform:vpn.clients and run `pulumi up`",
            file=sys.stderr,
        )
        return 1
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(profiles[name])
    os.chmod(path, 0o600)
    print(f"wrote {path} (mode 0600); import it into the AWS VPN Client or OpenVPN")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
