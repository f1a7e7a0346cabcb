"""HyperPod platform: the stack's config, wired into the package's components by its orchestrator's wiring
(``wiring/``), and the stack's exports."""

import pulumi

import stack_config
from wiring import eks, slurm
from wiring.common import base

s = stack_config.load()  # every config problem at once, before any resource is registered
wire = eks.platform if s.cluster.orchestrator == "eks" else slurm.platform
exports = wire(s, base(s))  # every stack output, in one table; None (a part that is off) is not exported
for key, value in exports.items():
    if value is not None:
        pulumi.export(key, value)
