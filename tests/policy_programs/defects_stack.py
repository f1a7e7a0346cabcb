"""The shipped program with one defect of issue 17 put back, for ``scripts/preview --program
tests/policy_programs/defects_stack.py``: ``DEFECT`` names which. Each must make the preview exit non-zero,
naming the resource and the flow, permission or pod (tests/test_behaviour_defects.py).

- ``addon-on-cluster-path``: the FSx CSI driver add-on (a controller Deployment) created with the control
  plane, and the HyperPod cluster (which brings the nodes) waiting for it, as before the fix.
- ``private-endpoint-no-deployer``: the EKS endpoint private only, whatever ``eks.deployFrom`` says.
- ``endpoint-policy-without-ecr-layers``: the S3 gateway endpoint admits only the stack's accounts.
- ``ec2-vpc-on-instance``: ``ArnEquals ec2:Vpc`` over ``network-interface/*`` and ``instance/*``.
- ``taint-not-tolerated``: the chart's device plugins get no tolerations for the groups' taints.
- ``team-without-pytorchjob-rbac``: the teams' Role without the ``kubeflow.org`` rule.
"""

import os
import runpy
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import pulumi  # noqa: E402
import pulumi_aws as aws  # noqa: E402

import hyperpod_platform as hp  # noqa: E402
from hyperpod_platform._args import after  # noqa: E402


def addon_on_cluster_path() -> None:
    init = hp.EksControlPlane.__init__

    def control_plane(self, name, args, opts=None):
        init(self, name, args, opts)
        addon = aws.eks.Addon(
            f"{name}-fsx-csi-driver",
            cluster_name=self.eks_cluster_name,
            addon_name="aws-fsx-csi-driver",
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.cluster_arn = after(self.cluster_arn, [addon])  # the HyperPod cluster takes this ARN

    hp.EksControlPlane.__init__ = control_plane
    node_addons = hp.EksNodeAddonsArgs.__init__

    def no_fsx_csi(self, *args, **kwargs):
        node_addons(self, *args, **kwargs)
        self.fsx_csi_driver = False

    hp.EksNodeAddonsArgs.__init__ = no_fsx_csi


def private_endpoint_no_deployer() -> None:
    import pulumi_eks

    init = pulumi_eks.Cluster.__init__

    def cluster(self, resource_name, *args, **kwargs):
        kwargs.update(endpoint_public_access=False, public_access_cidrs=None)
        init(self, resource_name, *args, **kwargs)

    pulumi_eks.Cluster.__init__ = cluster


def endpoint_policy_without_ecr_layers() -> None:
    from hyperpod_platform import network

    policy = network.s3_endpoint_policy

    def own_accounts_only(*args, **kwargs):
        doc = policy(*args, **kwargs)
        return {**doc, "Statement": [st for st in doc["Statement"] if "Condition" in st]}

    network.s3_endpoint_policy = own_accounts_only


def ec2_vpc_on_instance() -> None:
    from hyperpod_platform import execution_role

    document = execution_role.policy_document

    def vpc_key_on_instances(*args, **kwargs):
        doc = document(*args, **kwargs)
        for st in doc["Statement"]:
            condition = st.get("Condition") or {}
            if st.get("Sid") == "EniAttachmentsInClusterVpc" and "ArnEqualsIfExists" in condition:
                st["Condition"] = {"ArnEquals": condition["ArnEqualsIfExists"]}
        return doc

    execution_role.policy_document = vpc_key_on_instances


def taint_not_tolerated() -> None:
    import wiring.eks

    values = wiring.eks.platform_values
    wiring.eks.platform_values = lambda region, overrides, taints=(): values(region, overrides)


def team_without_pytorchjob_rbac() -> None:
    from hyperpod_platform import team_access

    team_access.NAMESPACE_RULES = tuple(r for r in team_access.NAMESPACE_RULES if "kubeflow.org" not in r["apiGroups"])


DEFECTS = {
    "addon-on-cluster-path": addon_on_cluster_path,
    "private-endpoint-no-deployer": private_endpoint_no_deployer,
    "endpoint-policy-without-ecr-layers": endpoint_policy_without_ecr_layers,
    "ec2-vpc-on-instance": ec2_vpc_on_instance,
    "taint-not-tolerated": taint_not_tolerated,
    "team-without-pytorchjob-rbac": team_without_pytorchjob_rbac,
}

DEFECTS[os.environ["DEFECT"]]()
runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")
