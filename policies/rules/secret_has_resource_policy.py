"""secret-has-resource-policy: every Secrets Manager secret of the stack has a resource policy.

A stack policy: a secret (``aws.secretsmanager.Secret``, aws-native ``secretsmanager.Secret``) counts as
covered by an ``aws.secretsmanager.SecretPolicy`` whose ``secretArn``, or an aws-native
``secretsmanager.ResourcePolicy`` whose ``secretId``, depends on the secret (at preview its ARN is unknown)
or equals its known ARN, id or name; or by the secret's own non-empty ``policy`` input (pulumi-aws). What the
policy says is judged by secret-policy-not-public; this rule makes sure every secret has one, so that a
secret is never readable by whoever holds a broad ``secretsmanager:GetSecretValue`` grant in the account.
The pack cannot tell a secret the stack only reads (``Secret.get``) from one it creates without inputs, so
every secret resource is judged; list a read one in ``exemptSecrets``.
"""

from __future__ import annotations

from pulumi_policy import ReportViolation

from ._declare import Config, declare, option
from ._lib import UNKNOWN, Graph, Verdicts

NAME = "secret-has-resource-policy"
SECRET_TYPES = {"aws:secretsmanager/secret:Secret", "aws-native:secretsmanager:Secret"}
# policy type -> property naming the secret
POLICY_TYPES = {
    "aws:secretsmanager/secretPolicy:SecretPolicy": "secretArn",
    "aws-native:secretsmanager:ResourcePolicy": "secretId",
}
KEYS = ("arn", "id", "name")
CONFIG = {"exemptSecrets": option([], "Resource or secret names exempt from this rule.")}

DESCRIPTION = (
    "Every Secrets Manager secret has a resource policy in the stack (a SecretPolicy / ResourcePolicy naming "
    "it, or its own policy input)."
)
REMEDIATION = (
    "Add aws.secretsmanager.SecretPolicy(secret_arn=secret.arn, policy=...) denying "
    "secretsmanager:GetSecretValue to every principal but the ones that need the secret and the deploying "
    "role (see hyperpod_platform/execution_role.py and hyperpod_platform/directory.py)."
)


def _validate(graph: Graph, cfg: Config, verdicts: Verdicts, report_violation: ReportViolation) -> None:
    exempt = {str(s) for s in cfg.get("exemptSecrets") or []}
    for secret in graph.of_type(*SECRET_TYPES):
        if secret.name in exempt or secret.props.get("name") in exempt:
            continue
        covering = [p for typ, key in POLICY_TYPES.items() for p in graph.referrers({typ}, key, secret, KEYS)]
        if covering:
            continue
        own = secret.props.get("policy")
        if own is UNKNOWN:
            verdicts.cannot_judge(f"secret {secret.name}: its policy input is not known yet")
        elif not own:
            report_violation(
                f"secret {secret.name} has no resource policy (no SecretPolicy or ResourcePolicy names it)",
                secret.urn,
            )


POLICY = declare(NAME, DESCRIPTION, REMEDIATION, CONFIG, level="mandatory", severity="high", stack=_validate)
