"""examples/jobs: the PyTorchJob validates against the PyTorchJob CRD the HyperPod chart ships, the batch Job
against Kubernetes' own schema, both strictly (a misspelt field fails), and both carry what job auto-resume
needs: the annotations, the healthy-node selector, restartPolicy OnFailure, a namespace HyperPod watches."""

from __future__ import annotations

import copy

import kubernetes_validate
import pytest
import yaml

from tests import chart_support
from tests.conftest import ROOT

JOBS = ROOT / "examples" / "jobs"
AUTO_RESUME = "sagemaker.amazonaws.com/enable-job-auto-resume"
MAX_RETRY = "sagemaker.amazonaws.com/job-max-retry-count"
HEALTH = "sagemaker.amazonaws.com/node-health-status"


def load(name: str) -> dict:
    (document,) = [d for d in yaml.safe_load_all((JOBS / name).read_text()) if d]
    return document


def pod_templates(job: dict) -> list[dict]:
    if job["kind"] == "PyTorchJob":
        return [spec["template"] for spec in job["spec"]["pytorchReplicaSpecs"].values()]
    return [job["spec"]["template"]]


def restart_policies(job: dict) -> list[str]:
    if job["kind"] == "PyTorchJob":
        return [spec["restartPolicy"] for spec in job["spec"]["pytorchReplicaSpecs"].values()]
    return [job["spec"]["template"]["spec"]["restartPolicy"]]


@pytest.fixture(scope="module")
def pytorch_crd() -> dict:
    crds = chart_support.custom_resource_definitions(chart_support.chart_dir())
    assert "PyTorchJob" in crds, sorted(crds)
    return crds["PyTorchJob"]


@pytest.mark.parametrize("name", ["pytorchjob.yaml", "batch-job.yaml"])
def test_examples_carry_auto_resume_and_the_healthy_node_selector(name):
    job = load(name)
    annotations = job["metadata"]["annotations"]
    assert annotations[AUTO_RESUME] == "true"
    retries = annotations[MAX_RETRY]
    assert isinstance(retries, str) and retries.isdigit() and int(retries) >= 1  # annotations are strings
    assert job["metadata"]["namespace"] == "kubeflow"
    templates = pod_templates(job)
    assert templates and all(t["spec"]["nodeSelector"] == {HEALTH: "Schedulable"} for t in templates)
    assert set(restart_policies(job)) == {"OnFailure"}
    # the same labels on the job and its pods, and the same across both examples
    for template in templates:
        assert template["metadata"]["labels"] == job["metadata"]["labels"]


def test_both_examples_use_the_same_annotations_and_label_keys():
    pytorch, batch = load("pytorchjob.yaml"), load("batch-job.yaml")
    assert pytorch["metadata"]["annotations"] == batch["metadata"]["annotations"]
    assert set(pytorch["metadata"]["labels"]) == set(batch["metadata"]["labels"])
    assert (
        pytorch["metadata"]["labels"]["app.kubernetes.io/part-of"]
        == batch["metadata"]["labels"]["app.kubernetes.io/part-of"]
    )


def test_pytorchjob_runs_torchrun_in_the_pytorch_container_with_the_fsx_claim():
    job = load("pytorchjob.yaml")
    specs = job["spec"]["pytorchReplicaSpecs"]
    assert set(specs) == {"Master", "Worker"}
    for template in pod_templates(job):
        (container,) = template["spec"]["containers"]
        assert container["name"] == "pytorch"  # the container the training operator configures
        assert "torchrun" in " ".join(container["args"])
        assert {"name": "fsx", "mountPath": "/fsx"} in container["volumeMounts"]
        assert {"name": "fsx", "persistentVolumeClaim": {"claimName": "fsx-claim"}} in template["spec"]["volumes"]


@pytest.mark.parametrize("kube_version", chart_support.KUBERNETES_VERSIONS)
def test_pytorchjob_validates_against_the_charts_crd(pytorch_crd, kube_version):
    validator = chart_support.crd_validator(pytorch_crd, "v1", kube_version)
    assert chart_support.errors(validator, load("pytorchjob.yaml")) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        # a misspelt field of the pod spec inside the replica template
        (
            lambda j: j["spec"]["pytorchReplicaSpecs"]["Worker"]["template"]["spec"].update(nodeSelecter={}),
            "nodeSelecter",
        ),
        # a misspelt field of the job spec
        (lambda j: j["spec"].update(pytorchReplicaSpec=j["spec"].pop("pytorchReplicaSpecs")), "pytorchReplicaSpec"),
        # a misspelt metadata field (checked as Kubernetes' strict ObjectMeta)
        (lambda j: j["metadata"].update(anotations={}), "anotations"),
        # a required field missing (the CRD leaves restartPolicy's values to the operator: no enum to test)
        (
            lambda j: j["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]["containers"][0].pop("name"),
            "'name' is a required property",
        ),
        # a type error
        (lambda j: j["spec"]["pytorchReplicaSpecs"]["Master"].update(replicas="one"), "'one' is not of type"),
        # another kind
        (lambda j: j.update(kind="TFJob"), "TFJob"),
    ],
)
def test_a_broken_pytorchjob_is_refused(pytorch_crd, change, expected):
    job = copy.deepcopy(load("pytorchjob.yaml"))
    # the anchors make both replicas share one template: break the sharing before changing one
    for spec in job["spec"]["pytorchReplicaSpecs"].values():
        spec["template"] = copy.deepcopy(spec["template"])
    change(job)
    problems = chart_support.errors(chart_support.crd_validator(pytorch_crd, "v1", "1.32"), job)
    assert any(expected in problem for problem in problems), problems


@pytest.mark.parametrize("kube_version", chart_support.KUBERNETES_VERSIONS)
def test_batch_job_validates_strictly(kube_version):
    assert kubernetes_validate.validate(load("batch-job.yaml"), kube_version, strict=True) == kube_version


@pytest.mark.parametrize(
    "change",
    [
        lambda j: j["spec"]["template"]["spec"].update(nodeSelecter={HEALTH: "Schedulable"}),
        lambda j: j["spec"].update(backoffLimit="two"),
        lambda j: j["spec"]["template"]["spec"]["containers"][0].update(imagePullPolcy="Always"),
    ],
)
def test_a_broken_batch_job_is_refused(change):
    job = copy.deepcopy(load("batch-job.yaml"))
    change(job)
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(job, "1.32", strict=True)
