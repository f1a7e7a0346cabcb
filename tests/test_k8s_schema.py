"""tools/k8s_schema.py: a plan's Kubernetes resources validated offline, strictly, against the Kubernetes
schemas of the cluster's version (kubernetes-validate)."""

from tools.k8s_schema import manifest_of, validate

PV = {
    "metadata": {"name": "fsx"},
    "spec": {
        "capacity": {"storage": "1200Gi"},
        "accessModes": ["ReadWriteMany"],
        "csi": {"driver": "fsx.csi.aws.com", "volumeHandle": "fs-0123456789abcdef0"},
    },
}


def test_type_tokens_become_api_version_and_kind():
    assert manifest_of("kubernetes:core/v1:PersistentVolume", PV)["apiVersion"] == "v1"
    m = manifest_of("kubernetes:batch/v1:Job", {"metadata": {"name": "j"}})
    assert (m["apiVersion"], m["kind"]) == ("batch/v1", "Job")
    m = manifest_of("kubernetes:scheduling.k8s.io/v1:PriorityClass", {"value": 1})
    assert m["apiVersion"] == "scheduling.k8s.io/v1"


def test_helm_releases_providers_and_other_packages_are_not_manifests():
    for typ in ("kubernetes:helm.sh/v3:Release", "pulumi:providers:kubernetes", "aws:s3/bucket:Bucket"):
        assert manifest_of(typ, {}) is None, typ


def test_valid_volume_passes_and_a_misspelt_field_fails_naming_it():
    assert validate([("pv", "kubernetes:core/v1:PersistentVolume", PV)], "1.32") == []
    bad = {**PV, "spec": {**PV["spec"], "acessModes": ["ReadWriteMany"]}}
    (problem,) = validate([("pv", "kubernetes:core/v1:PersistentVolume", bad)], "1.32")
    assert problem.startswith("pv (PersistentVolume): spec:") and "acessModes" in problem


def test_wrong_type_fails_and_unknown_values_are_not_judged():
    bad = {**PV, "spec": {**PV["spec"], "accessModes": "ReadWriteMany"}}  # a string, not a list
    assert validate([("pv", "kubernetes:core/v1:PersistentVolume", bad)], "1.32")
    unknown = {**PV, "spec": {**PV["spec"], "acessModes": "<unknown>"}}
    assert validate([("pv", "kubernetes:core/v1:PersistentVolume", unknown)], "1.32") == []


def test_secret_wrapped_values_are_validated_as_their_values():
    wrapped = {**PV, "metadata": {"name": {"<secret>": "fsx"}}}
    assert validate([("pv", "kubernetes:core/v1:PersistentVolume", wrapped)], "1.32") == []
