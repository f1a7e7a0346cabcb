"""HyperPod platform guardrails: builds the policy pack from the rule modules in rules/.

Run by the Pulumi CLI (``pulumi preview --policy-pack policies``) or by tools/policy_harness.py: it starts
the analyzer gRPC server, prints its port and serves until it is stopped.
"""

from pulumi_policy import EnforcementLevel, PolicyPack
from rules import RULES

PolicyPack(
    name="hyperpod-guardrails",
    policies=[rule.POLICY for rule in RULES],
    enforcement_level=EnforcementLevel.ADVISORY,  # each rule sets its own default level
    description="Guardrails of the SageMaker HyperPod platform.",
    display_name="HyperPod platform guardrails",
    provider="aws",
)
