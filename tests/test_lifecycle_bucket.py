"""LifecycleBucket under mocks: protections, content-hashed uploads, rendered files."""

from __future__ import annotations

import hashlib
import json
import shutil

from hyperpod_platform.lifecycle_bucket import LifecycleBucket, LifecycleBucketArgs, lifecycle_files
from tests.conftest import ROOT, P
from tools.harness import run_program


def test_bucket_is_private_encrypted_versioned_tls_only(dev_run):
    """All four public access blocks, KMS encryption, versioning, owner-enforced, and a deny on non-TLS."""
    bucket = dev_run.one("aws:s3/bucket:Bucket")
    name = bucket.outputs["id"]
    pab = dev_run.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    assert pab["bucket"] == name
    assert all(
        pab[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    )
    sse = dev_run.one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    assert sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
    assert dev_run.one("aws:s3/bucketVersioning:BucketVersioning").inputs["versioningConfiguration"] == {
        "status": "Enabled"
    }
    (deny,) = json.loads(dev_run.one("aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert set(deny["Resource"]) == {bucket.outputs["arn"], bucket.outputs["arn"] + "/*"}


def test_bucket_name_fits_managed_policy(dev_config, run_stack, dev_run):
    """By default the name starts with sagemaker- (the managed policy's rule); a fixed name is used as given."""
    assert dev_run.one("aws:s3/bucket:Bucket").inputs["bucketPrefix"] == "sagemaker-hp-dev-"
    dev_config[P + "lifecycle"] = {"bucketName": "acme-hyperpod-scripts"}
    assert run_stack(dev_config).one("aws:s3/bucket:Bucket").inputs["bucket"] == "acme-hyperpod-scripts"


def test_every_lifecycle_file_uploaded_with_its_hash(dev_run):
    """Each file under lifecycle/ has one object whose source hash is the file's sha256."""
    objects = {o.inputs["key"]: o for o in dev_run.of_type("aws:s3/bucketObjectv2:BucketObjectv2")}
    files = lifecycle_files(ROOT / "hyperpod_platform" / "lifecycle")
    assert files and set(files) <= set(objects)
    for key, path in files.items():
        assert objects[key].inputs["sourceHash"] == hashlib.sha256(path.read_bytes()).hexdigest(), key
    assert "lifecycle/on_init_complete.sh" in files


def test_changed_script_changes_its_object(tmp_path):
    """Editing a script changes that object's hash and no other."""
    src = tmp_path / "lifecycle"
    shutil.copytree(ROOT / "hyperpod_platform" / "lifecycle", src, ignore=shutil.ignore_patterns("__pycache__"))

    def hashes():
        def program():
            LifecycleBucket("t", LifecycleBucketArgs(source_dir=src, cluster_name="t", tags={}))

        result = run_program(program, {"aws:region": "us-east-1"}, preview=False)
        assert result.error is None, result.error
        return {o.inputs["key"]: o.inputs["sourceHash"] for o in result.of_type("aws:s3/bucketObjectv2:BucketObjectv2")}

    before = hashes()
    step = src / "steps" / "10-logging.sh"
    step.write_text(step.read_text() + "\n# changed\n")
    after = hashes()
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {"lifecycle/steps/10-logging.sh"}


def test_rendered_platform_file(dev_run):
    """platform.json is rendered at deploy time from the stack: FSx endpoint and each group's role."""
    content = json.loads(dev_run.named("hp-dev-generated-platform.json").inputs["content"])
    fs = dev_run.one("aws:fsx/lustreFileSystem:LustreFileSystem").outputs
    assert content["fsx"] == {"dns_name": fs["dnsName"], "mount_name": fs["mountName"], "mount_path": "/fsx"}
    assert content["groups"] == {"controller": "controller", "login": "login", "gpu": "compute"}


def test_objects_wait_for_versioning_only(dev_run):
    """Uploads depend on versioning being on, and on nothing that would serialize them with each other."""
    versioning = dev_run.one("aws:s3/bucketVersioning:BucketVersioning").urn
    objects = dev_run.of_type("aws:s3/bucketObjectv2:BucketObjectv2")
    object_urns = {o.urn for o in objects}
    for obj in objects:
        assert versioning in obj.dependencies
        assert not object_urns & set(obj.dependencies)
