"""The shipped program with one defect of issue 17 put back, for ``scripts/preview --program
tests/policy_programs/defects_stack.py``: ``DEFECT`` names which. Each must make the preview exit non-zero,
naming the resource and the flow, permission or pod (tests/test_behaviour_defects.py).

- ``addon-on-cluster-path``: the FSx CSI driver add-on (a controller Deployment) created with the control
  plane, and the HyperPod cluster (which brings the nodes) waiting for it, as before the fix.
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


DEFECTS = {"addon-on-cluster-path": addon_on_cluster_path}

DEFECTS[os.environ["DEFECT"]]()
runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")
