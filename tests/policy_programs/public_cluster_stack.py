"""The shipped program, with the HyperPod cluster placed in the public subnets (routed to the internet gateway).

For ``scripts/preview --program tests/policy_programs/public_cluster_stack.py``: runs the project's
``__main__.py`` unchanged except that the cluster component receives the network's public subnets instead of
the private ones, the misplacement private-subnets must catch. Run it in its own process (scripts/preview):
it patches the component classes.
"""

import runpy
from pathlib import Path

import hyperpod_platform.hyperpod_cluster as hyperpod_cluster
import hyperpod_platform.network as network

ROOT = Path(__file__).resolve().parents[2]
networks: list = []
original_network_init = network.Network.__init__
original_cluster_init = hyperpod_cluster.HyperPodCluster.__init__


def network_init(self, *args, **kwargs):
    original_network_init(self, *args, **kwargs)
    networks.append(self)


def cluster_init(self, name, args, opts=None):
    args.subnet_ids = [s.id for s in networks[-1].public_subnets]
    original_cluster_init(self, name, args, opts)


network.Network.__init__ = network_init
hyperpod_cluster.HyperPodCluster.__init__ = cluster_init
try:
    runpy.run_path(str(ROOT / "__main__.py"))
finally:
    network.Network.__init__ = original_network_init
    hyperpod_cluster.HyperPodCluster.__init__ = original_cluster_init
