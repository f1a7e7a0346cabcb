"""LifecycleBucket, built on its own under mocks: protections, naming, content-hashed uploads of the node
scripts, rendered files, and the source URI that makes its taker wait for every object. What the shipped
stack renders into it (platform.json) is in tests/test_stack_dev.py."""

from __future__ import annotations

import hashlib
import json
import shutil

import pulumi
import pulumi_aws as aws

from hyperpod_platform import LifecycleBucket, LifecycleBucketArgs
from hyperpod_platform.lifecycle_bucket import LIFECYCLE_DIR, PLATFORM_FILE, PREFIX, lifecycle_files
from tools.harness import run_program

CONFIG = {"aws:region": "us-east-1", "aws-native:region": "us-east-1"}
NAME = "t"
OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"
BUCKET = "aws:s3/bucket:Bucket"


def run_bucket(args: LifecycleBucketArgs, *, preview: bool = False, consume: bool = False):
    """Build one LifecycleBucket called NAME; ``consume``: another resource takes its source URI, as a cluster
    would."""

    def program():
        lb = LifecycleBucket(NAME, args)
        pulumi.export("source_s3_uri", lb.source_s3_uri)
        pulumi.export("bucket", lb.bucket.bucket)
        pulumi.export("object_keys", [o.key for o in lb.objects])
        if consume:
            aws.cloudwatch.LogGroup("taker", tags={"source": lb.source_s3_uri})

    result = run_program(program, CONFIG, preview=preview)
    assert result.error is None, result.error
    return result


def small(**changes) -> LifecycleBucketArgs:
    return LifecycleBucketArgs(cluster_name="demo", tags={"Project": "unit"}, **changes)


def objects_by_key(result):
    return {o.inputs["key"]: o for o in result.of_type(OBJECT)}


def test_bucket_is_private_encrypted_versioned_owner_enforced_and_tls_only():
    """All four public access blocks, KMS encryption with a bucket key, versioning, owner-enforced object
    ownership, never force-destroyed, and a deny on non-TLS access to the bucket and its objects."""
    result = run_bucket(small())
    bucket = result.one(BUCKET)
    name = bucket.outputs["id"]
    assert bucket.inputs["forceDestroy"] is False
    pab = result.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    assert pab["bucket"] == name
    assert all(
        pab[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    )
    sse = result.one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    assert sse.inputs["bucket"] == name
    (rule,) = sse.inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms" and rule["bucketKeyEnabled"] is True
    versioning = result.one("aws:s3/bucketVersioning:BucketVersioning")
    assert versioning.inputs["bucket"] == name
    assert versioning.inputs["versioningConfiguration"] == {"status": "Enabled"}
    ownership = result.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    assert ownership.inputs["bucket"] == name
    assert ownership.inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    policy = result.one("aws:s3/bucketPolicy:BucketPolicy")
    assert policy.inputs["bucket"] == name
    (deny,) = json.loads(policy.inputs["policy"])["Statement"]
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*" and deny["Action"] == "s3:*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert set(deny["Resource"]) == {bucket.outputs["arn"], bucket.outputs["arn"] + "/*"}


def test_generated_bucket_name_starts_with_sagemaker_for_the_managed_policy():
    """Without a fixed name the bucket gets a generated name under ``sagemaker-<cluster>-`` (the rule of
    AmazonSageMakerClusterInstanceRolePolicy), lower-cased and short enough for a bucket prefix."""
    assert run_bucket(small()).one(BUCKET).inputs["bucketPrefix"] == "sagemaker-demo-"
    long_name = "Research-Cluster-With-A-Rather-Long-Name"
    bucket = run_bucket(LifecycleBucketArgs(cluster_name=long_name, tags={})).one(BUCKET).inputs
    prefix = bucket["bucketPrefix"]
    assert "bucket" not in bucket
    assert prefix.startswith("sagemaker-research-cluster-") and prefix.endswith("-")
    assert prefix == prefix.lower() and len(prefix) <= 37  # S3 allows 37 characters of prefix


def test_fixed_bucket_name_is_used_as_given():
    bucket = run_bucket(small(bucket_name="acme-hyperpod-scripts")).one(BUCKET).inputs
    assert bucket["bucket"] == "acme-hyperpod-scripts" and "bucketPrefix" not in bucket


def test_default_source_is_the_packaged_node_scripts_each_uploaded_with_its_hash():
    """With no source_dir, every file of the package's lifecycle directory (and nothing else) has one object
    under the lifecycle prefix whose source hash is the file's sha256."""
    result = run_bucket(small())
    objects = objects_by_key(result)
    files = lifecycle_files(LIFECYCLE_DIR)
    assert f"{PREFIX}/on_init_complete.sh" in files
    assert set(objects) == set(files)
    for key, path in files.items():
        assert objects[key].inputs["sourceHash"] == hashlib.sha256(path.read_bytes()).hexdigest(), key
        assert objects[key].inputs["bucket"] == result.one(BUCKET).outputs["id"]
    assert sorted(result.outputs["object_keys"]) == sorted(files)


def test_source_dir_skips_dotfiles_and_caches_and_names_objects_by_path(tmp_path):
    """Uploads mirror the directory under the prefix (dotfiles and __pycache__ skipped); each object is named
    after the component and its path; shell scripts are served as shell scripts."""
    (tmp_path / "steps").mkdir()
    (tmp_path / "steps" / "10-a.sh").write_text("#!/bin/bash\n")
    (tmp_path / "entry.sh").write_text("#!/bin/bash\n")
    (tmp_path / "NOTES").write_text("no extension\n")
    (tmp_path / ".hidden").write_text("x")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text("x")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "m.cpython-312.pyc").write_bytes(b"\0")
    result = run_bucket(small(source_dir=str(tmp_path)))
    objects = objects_by_key(result)
    assert set(objects) == {f"{PREFIX}/steps/10-a.sh", f"{PREFIX}/entry.sh", f"{PREFIX}/NOTES"}
    assert objects[f"{PREFIX}/steps/10-a.sh"].name == f"{NAME}-steps-10-a.sh"
    assert objects[f"{PREFIX}/entry.sh"].inputs["contentType"] == "text/x-shellscript"
    assert objects[f"{PREFIX}/NOTES"].inputs["contentType"] == "text/plain"


def test_changed_script_changes_its_object_and_no_other(tmp_path):
    """Editing a script changes that object's hash and no other."""
    src = tmp_path / "lifecycle"
    shutil.copytree(LIFECYCLE_DIR, src, ignore=shutil.ignore_patterns("__pycache__"))

    def hashes():
        result = run_bucket(small(source_dir=str(src)))
        return {o.inputs["key"]: o.inputs["sourceHash"] for o in result.of_type(OBJECT)}

    before = hashes()
    step = src / "steps" / "10-logging.sh"
    step.write_text(step.read_text() + "\n# changed\n")
    after = hashes()
    assert set(before) == set(after)
    assert {k for k in before if before[k] != after[k]} == {f"{PREFIX}/steps/10-logging.sh"}


def test_rendered_files_are_uploaded_with_their_content_under_the_prefix(tmp_path):
    """Rendered files (plain or outputs of other resources) are objects with that content under the prefix,
    next to the uploaded scripts, typed by their extension."""
    (tmp_path / "entry.sh").write_text("#!/bin/bash\n")
    document = json.dumps({"cluster": "demo"})

    def program():
        group = aws.cloudwatch.LogGroup("source")  # any resource: its name ends up in a rendered file
        LifecycleBucket(
            NAME,
            small(
                source_dir=str(tmp_path),
                rendered={PLATFORM_FILE: document, "generated/from-output.txt": group.name.apply(lambda n: n)},
            ),
        )

    result = run_program(program, CONFIG, preview=False)
    assert result.error is None, result.error
    objects = objects_by_key(result)
    assert set(objects) == {f"{PREFIX}/entry.sh", f"{PREFIX}/{PLATFORM_FILE}", f"{PREFIX}/generated/from-output.txt"}
    platform = objects[f"{PREFIX}/{PLATFORM_FILE}"]
    assert platform.name == f"{NAME}-{PLATFORM_FILE.replace('/', '-')}"
    assert platform.inputs["content"] == document and platform.inputs["contentType"] == "application/json"
    rendered = objects[f"{PREFIX}/generated/from-output.txt"]
    assert rendered.inputs["content"] == result.named("source").outputs["name"]
    assert result.named("source").urn in rendered.dependencies


def test_objects_wait_for_versioning_only():
    """Uploads depend on versioning being on (the first upload is a kept version), and on nothing that would
    serialize them with each other."""
    result = run_bucket(small(rendered={PLATFORM_FILE: "{}"}))
    versioning = result.one("aws:s3/bucketVersioning:BucketVersioning").urn
    objects = result.of_type(OBJECT)
    object_urns = {o.urn for o in objects}
    for obj in objects:
        assert versioning in obj.dependencies
        assert not object_urns & set(obj.dependencies)


def test_source_uri_names_the_prefix_and_makes_its_taker_wait_for_every_object():
    """``source_s3_uri`` is ``s3://<bucket>/lifecycle``; whatever takes it (the cluster) depends on every
    uploaded and rendered object, so nodes never boot before their scripts are there."""
    result = run_bucket(small(rendered={PLATFORM_FILE: "{}"}), consume=True)
    bucket = result.one(BUCKET).outputs["bucket"]
    assert result.outputs["source_s3_uri"] == f"s3://{bucket}/{PREFIX}"
    taker = result.named("taker")
    assert taker.inputs["tags"]["source"] == f"s3://{bucket}/{PREFIX}"
    objects = {o.urn for o in result.of_type(OBJECT)}
    assert objects and objects <= set(taker.dependencies)


def test_every_resource_is_a_child_named_after_the_component():
    result = run_bucket(small())
    (component,) = result.of_type("hyperpod-platform:index:LifecycleBucket")
    children = [r for r in result.registrations if r is not component]
    assert children and all(r.parent == component.urn and r.name.startswith(f"{NAME}-") for r in children)
    assert result.one(BUCKET).inputs["tags"] == {"Project": "unit"}


def test_preview_plans_every_object():
    """The objects come from files on disk, not from outputs: a first preview shows each of them."""
    preview = run_bucket(small(rendered={PLATFORM_FILE: "{}"}), preview=True)
    update = run_bucket(small(rendered={PLATFORM_FILE: "{}"}))
    assert sorted(o.name for o in preview.of_type(OBJECT)) == sorted(o.name for o in update.of_type(OBJECT))
    assert preview.outputs["source_s3_uri"] == "<unknown>"
