"""Lifecycle bucket: the node scripts HyperPod runs, and the files rendered from the stack config."""

import hashlib
import json
import mimetypes
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import pulumi
import pulumi_aws as aws

from . import checks
from ._args import ArgCheck, after, component_type, renamed, take
from .node_contract import DirectoryNode, FsxMount, LoginNode, NodeContract
from .settings import StackSettings

PREFIX = "lifecycle"
LIFECYCLE_DIR = Path(__file__).resolve().parent / "lifecycle"
"""The node scripts shipped with the package: ``on_init_complete.sh``, ``lib/`` and ordered ``steps/``."""
LIFECYCLE_EKS_DIR = Path(__file__).resolve().parent / "lifecycle_eks"
"""The node scripts of an EKS-orchestrated cluster, shipped with the package: ``on_create.sh`` (HyperPod's
``OnCreate``), ``lib/`` and ordered ``steps/``."""
PLATFORM_FILE = "generated/platform.json"


def lifecycle_files(root: Path) -> dict[str, Path]:
    """Every file under ``root`` keyed by its S3 key, in a stable order (caches and dotfiles skipped)."""
    files = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root)
        if any(part.startswith(".") or part == "__pycache__" for part in rel.parts):
            continue
        files[f"{PREFIX}/{rel.as_posix()}"] = path
    return files


def node_contract(
    settings: StackSettings,
    *,
    fsx_dns_name: Optional[str] = None,
    fsx_mount_name: Optional[str] = None,
    login_secret_arn: Optional[str] = None,
    login_host: Optional[str] = None,
    directory: Optional[DirectoryNode] = None,
) -> NodeContract:
    """The node contract from the settings and the resolved values of the stack's resources: FSx when the
    settings enable it, login when its host-key secret or host is given (a cluster without login access gives
    neither), ``directory`` as given."""
    return NodeContract(
        cluster_name=settings.cluster.name,
        region=settings.region,
        groups={g.name: g.role for g in settings.cluster.instance_groups},
        fsx=FsxMount(dns_name=fsx_dns_name, mount_name=fsx_mount_name, mount_path=settings.fsx.mount_path)
        if settings.fsx.enabled
        else None,
        login=LoginNode(host_keys_secret_id=login_secret_arn, host_name=login_host)
        if login_secret_arn is not None or login_host is not None
        else None,
        directory=directory,
    )


def platform_json(
    settings: StackSettings,
    *,
    fsx_dns_name: pulumi.Input[Optional[str]] = None,
    fsx_mount_name: pulumi.Input[Optional[str]] = None,
    login_secret_arn: pulumi.Input[Optional[str]] = None,
    login_host: pulumi.Input[Optional[str]] = None,
    directory: Optional[DirectoryNode] = None,
) -> pulumi.Output[str]:
    """``generated/platform.json``, what every node reads at boot: :class:`NodeContract` (groups' roles, FSx,
    login host keys and the plan-time ``directory`` section of
    :func:`hyperpod_platform.directory_connection.node_settings`), built once the Outputs are resolved. Nothing
    in it comes from the directory or its LDAPS endpoint, so the bundle, and the cluster with it, never wait for
    them."""
    return pulumi.Output.all(fsx_dns_name, fsx_mount_name, login_secret_arn, login_host).apply(
        lambda v: node_contract(
            settings,
            fsx_dns_name=v[0],
            fsx_mount_name=v[1],
            login_secret_arn=v[2],
            login_host=v[3],
            directory=directory,
        ).to_json()
    )


@dataclass
class LifecycleBucketArgs:
    """Inputs of :class:`LifecycleBucket`."""

    cluster_name: str
    """Cluster name, for the generated bucket name."""
    tags: dict[str, str]
    """Tags for every resource."""
    bucket_name: Optional[str] = None
    """Fixed bucket name; default a generated ``sagemaker-<cluster>-`` name the managed policy can read."""
    rendered: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    """Files rendered at deploy time, path under the prefix -> content (e.g. ``generated/platform.json``)."""
    source_dir: Optional[str] = None
    """Directory whose files are uploaded as they are; default the package's own node scripts
    (:data:`LIFECYCLE_DIR`, which read ``generated/platform.json``)."""


class LifecycleBucket(pulumi.ComponentResource):
    """An encrypted, versioned, private, TLS-only bucket holding the lifecycle scripts."""

    bucket: aws.s3.Bucket
    """The bucket."""
    objects: list[aws.s3.BucketObjectv2]
    """Every uploaded script and rendered file; the cluster must wait for them."""
    source_s3_uri: pulumi.Output[str]
    """``s3://<bucket>/lifecycle`` for the cluster's LifeCycleConfig."""

    def __init__(self, name: str, args: LifecycleBucketArgs, opts: pulumi.ResourceOptions | None = None):
        args, check = take("LifecycleBucket", LifecycleBucketArgs, args)
        _check_args(args, check)
        check.raise_if_any()
        super().__init__(component_type("LifecycleBucket"), name, None, renamed(opts, "LifecycleBucket"))
        child = pulumi.ResourceOptions(parent=self)
        naming = (
            {"bucket": args.bucket_name}
            if args.bucket_name
            else {"bucket_prefix": f"sagemaker-{args.cluster_name.lower()[:26]}-"}
        )
        self.bucket = aws.s3.Bucket(f"{name}-bucket", **naming, force_destroy=False, tags=args.tags, opts=child)
        versioning = private_bucket_controls(name, self.bucket.id, child)
        aws.s3.BucketPolicy(
            f"{name}-tls-only",
            bucket=self.bucket.id,
            opts=child,
            policy=self.bucket.arn.apply(
                lambda arn: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "DenyInsecureTransport",
                                "Effect": "Deny",
                                "Principal": "*",
                                "Action": "s3:*",
                                "Resource": [arn, f"{arn}/*"],
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        ],
                    }
                )
            ),
        )

        # Objects wait for versioning so that the first upload is already a kept version.
        obj_opts = pulumi.ResourceOptions(parent=self, depends_on=[versioning])
        self.objects = []
        for key, path in lifecycle_files(Path(args.source_dir or LIFECYCLE_DIR)).items():
            data = path.read_bytes()
            self.objects.append(
                aws.s3.BucketObjectv2(
                    f"{name}-{key.removeprefix(PREFIX + '/').replace('/', '-')}",
                    bucket=self.bucket.id,
                    key=key,
                    source=pulumi.FileAsset(str(path)),
                    source_hash=hashlib.sha256(data).hexdigest(),
                    content_type=_content_type(path),
                    opts=obj_opts,
                )
            )
        for rel, content in sorted(args.rendered.items()):
            key = f"{PREFIX}/{rel}"
            self.objects.append(
                aws.s3.BucketObjectv2(
                    f"{name}-{rel.replace('/', '-')}",
                    bucket=self.bucket.id,
                    key=key,
                    content=content,
                    content_type=_content_type(Path(rel)),
                    opts=obj_opts,
                )
            )
        # Whatever takes the URI (the cluster) waits for every object: the dependency travels with the value.
        self.source_s3_uri = after(self.bucket.bucket.apply(lambda b: f"s3://{b}/{PREFIX}"), self.objects)
        self.register_outputs({"bucket": self.bucket.bucket, "source_s3_uri": self.source_s3_uri})


def private_bucket_controls(prefix: str, bucket_id: pulumi.Input[str], opts: pulumi.ResourceOptions):
    """What keeps a bucket the platform creates private and durable: owner-enforced objects (no ACLs), every
    public access blocked, KMS encryption with a bucket key, versioning. Children are ``{prefix}-ownership``,
    ``-public-access``, ``-encryption`` and ``-versioning``; returns the versioning (writers wait for it)."""
    aws.s3.BucketOwnershipControls(
        f"{prefix}-ownership", bucket=bucket_id, rule={"object_ownership": "BucketOwnerEnforced"}, opts=opts
    )
    aws.s3.BucketPublicAccessBlock(
        f"{prefix}-public-access",
        bucket=bucket_id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=opts,
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{prefix}-encryption",
        bucket=bucket_id,
        rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms"}, "bucket_key_enabled": True}],
        opts=opts,
    )
    return aws.s3.BucketVersioning(
        f"{prefix}-versioning", bucket=bucket_id, versioning_configuration={"status": "Enabled"}, opts=opts
    )


def _content_type(path: Path) -> str:
    if path.suffix == ".sh":
        return "text/x-shellscript"
    return mimetypes.guess_type(path.name)[0] or "text/plain"


def _check_args(args: LifecycleBucketArgs, check: ArgCheck) -> None:
    """A bucket S3 accepts (the fixed name, or one made from the cluster name), a directory of scripts to
    upload, rendered files at relative paths that no uploaded script has already, and tags AWS accepts."""
    check.check("cluster_name", args.cluster_name, checks.cluster_name)
    check.check("bucket_name", args.bucket_name, checks.bucket_name)
    uploaded: dict[str, Path] = {}
    if args.source_dir is not None and not Path(args.source_dir).is_dir():
        why = "is not a directory, so no node script would be uploaded"
        check.fail("source_dir", args.source_dir, why, "give the directory of the node scripts, or leave it unset")
    else:
        uploaded = lifecycle_files(Path(args.source_dir or LIFECYCLE_DIR))
    for rel in args.rendered:
        bad = checks.object_path(rel)
        if bad:
            check.fail("rendered", rel, *bad)
        elif f"{PREFIX}/{rel}" in uploaded:
            why = "is also a file of the uploaded scripts, so both would be the same object"
            check.fail("rendered", rel, why, "render it at another path, or remove the file from source_dir")
    check.tags(args.tags, own=())
