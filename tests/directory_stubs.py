"""An ``aws`` CLI stub for the directory step: SSM Parameter Store and Secrets Manager, as files.

The stub answers exactly the two calls the step makes, and refuses any other:

- ``aws ssm get-parameter --name NAME --region REGION --output json``: the parameter's value is the file
  ``$AWS_STUB_PARAMETER`` and its version the file ``$AWS_STUB_PARAMETER.version``; no such file is
  ``ParameterNotFound`` (the directory is not ready yet).
- ``aws secretsmanager get-secret-value --region REGION --secret-id ID --output json``: the SecretString
  is the file ``$AWS_STUB_SECRET``; its VersionId is derived from the content, so a new password is a new
  version (a rotation). ``$AWS_STUB_FAIL`` makes it refuse with that error code.

``$AWS_STUB_FLAKY`` (a space-separated list of ``ssm`` / ``secretsmanager``) makes the first call of
each listed service fail with a transient error (a throttle or a dropped connection), once per run
directory ``$AWS_STUB_FLAKY_DIR``. Every call is logged as ``aws <argv>`` to ``$STUB_CALLS``.
The password only ever goes from file to stdout, never onto a command line.
"""

from __future__ import annotations

import json
from pathlib import Path

STUB = r"""#!/usr/bin/env bash
printf '%s\n' "aws $*" >>"${STUB_CALLS}"
service="${1:-}"
flaky() { # flaky SERVICE MESSAGE: fail the first call of SERVICE with a transient error
  if [[ " ${AWS_STUB_FLAKY:-} " == *" $1 "* && ! -e "${AWS_STUB_FLAKY_DIR}/$1" ]]; then
    touch "${AWS_STUB_FLAKY_DIR}/$1"
    echo "$2" >&2
    exit 254
  fi
}
case "$*" in
  "ssm get-parameter --name @PARAMETER@ --region @REGION@ --output json")
    flaky ssm "An error occurred (ThrottlingException) when calling the GetParameter operation (reached max retries: 2): Rate exceeded"
    if [[ ! -e "${AWS_STUB_PARAMETER}" ]]; then
      echo "An error occurred (ParameterNotFound) when calling the GetParameter operation: " >&2
      exit 254
    fi
    exec python3 -c '
import json, sys
value = open(sys.argv[1], encoding="utf-8").read()
version = int(open(sys.argv[1] + ".version").read())
print(json.dumps({"Parameter": {"Name": sys.argv[2], "Type": "String", "Value": value, "Version": version,
                                "DataType": "text"}}, indent=4))
' "${AWS_STUB_PARAMETER}" "@PARAMETER@"
    ;;
  "secretsmanager get-secret-value --region @REGION@ --secret-id @SECRET@ --output json")
    if [[ -n "${AWS_STUB_FAIL:-}" ]]; then
      echo "An error occurred (${AWS_STUB_FAIL}) when calling the GetSecretValue operation: denied by the test" >&2
      exit 254
    fi
    flaky secretsmanager "Could not connect to the endpoint URL: \"https://secretsmanager.@REGION@.amazonaws.com/\""
    exec python3 -c '
import hashlib, json, sys, uuid
secret = open(sys.argv[1], encoding="utf-8").read()
version = str(uuid.UUID(hashlib.sha256(secret.encode()).hexdigest()[:32]))
print(json.dumps({"ARN": sys.argv[2], "Name": "bind", "VersionId": version, "SecretString": secret,
                  "VersionStages": ["AWSCURRENT"]}, indent=4))
' "${AWS_STUB_SECRET}" "@SECRET@"
    ;;
esac
case "${service}" in
  ssm) echo "An error occurred (ValidationException) when calling the GetParameter operation: not $*" >&2 ;;
  *) echo "An error occurred (ResourceNotFoundException) when calling the GetSecretValue operation: not $*" >&2 ;;
esac
exit 254
"""


def aws_stub(region: str, parameter: str, secret_id: str) -> str:
    return STUB.replace("@REGION@", region).replace("@PARAMETER@", parameter).replace("@SECRET@", secret_id)


def publish_parameter(path: Path, value: dict | None, bump: bool = False) -> int | None:
    """Write the connection parameter as the stack does (``None``: delete it). The version goes up when the
    value changes (or when ``bump``), as SSM's does; returns the current version."""
    version_file = Path(f"{path}.version")
    if value is None:
        path.unlink(missing_ok=True)
        return None
    text = json.dumps(value)
    version = int(version_file.read_text()) if version_file.exists() else 0
    if bump or not path.exists() or path.read_text() != text:
        version += 1
        path.write_text(text)
        version_file.write_text(str(version))
    return version


def secret_version(password: str) -> str:
    """The VersionId the stub reports for ``password``."""
    import hashlib
    import uuid

    return str(uuid.UUID(hashlib.sha256(password.encode()).hexdigest()[:32]))
