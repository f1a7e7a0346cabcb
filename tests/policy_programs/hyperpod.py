"""Programs for hyperpod-resilience."""

from __future__ import annotations

from .common import cluster, group, network


def resilient_cluster():
    cluster(
        [network().private.id],
        groups=[
            group("controller", "ml.m5.xlarge"),
            group("gpu", "ml.p5.48xlarge", ["InstanceStress", "InstanceConnectivity"]),
            group("trn", "ml.trn1.32xlarge", ["InstanceConnectivity", "InstanceStress"]),
        ],
    )


def node_recovery_none():
    cluster([network().private.id], node_recovery="None")


def gpu_group_without_checks():
    cluster([network().private.id], groups=[group("controller", "ml.m5.xlarge"), group("gpu", "ml.g5.12xlarge")])


def trainium_group_with_one_check():
    cluster([network().private.id], groups=[group("trn", "ml.trn1.32xlarge", ["InstanceStress"])])
