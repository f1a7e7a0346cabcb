"""An EKS-orchestrated HyperPod stack for ``scripts/preview --program tests/policy_programs/eks_stack.py``.

The pulumi-eks control plane and an EKS-orchestrated HyperPod cluster in private subnets (``EKS_VARIANT``
unset or ``compliant``), or the same control plane with pulumi-eks's defaults for the endpoint and the
authentication mode (``EKS_VARIANT=defaults``): private access false, a public endpoint open to 0.0.0.0/0,
CONFIG_MAP.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.policy_programs import eks  # noqa: E402

if os.environ.get("EKS_VARIANT", "compliant") == "defaults":
    eks.component(endpoint_private_access=None, endpoint_public_access=None, authentication_mode=None)
else:
    eks.hyperpod_on_eks_resilient()
