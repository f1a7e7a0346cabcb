"""access-points-vpc-only: every S3 access point is reachable only from a VPC.

An access point's network origin is Internet unless it is created with a VPC configuration, and it can only be
set when the access point is created (https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-points-vpc.html).
The teams' data access points (one per team in the data account, seed 004) must be VPC-only, so the data is
reached only from the cluster's VPC. Judged on ``aws.s3.AccessPoint`` and aws-native ``s3.AccessPoint``:
``vpcConfiguration.vpcId`` must be set. A VPC ID that is not known yet (preview) is a "cannot judge" note; the
resolved value is judged before the access point is created. The message names the provider, and so the
account, the access point is created with.
"""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs

from ._declare import Config, Props, declare, option
from ._lib import UNKNOWN, Verdicts, get, provider_of

NAME = "access-points-vpc-only"
TYPES = {"aws:s3/accessPoint:AccessPoint": "aws.s3", "aws-native:s3:AccessPoint": "aws_native.s3"}
CONFIG = {
    "exemptAccessPoints": option([], "Resource or access point names that may have an Internet network origin."),
}

DESCRIPTION = (
    "Every S3 access point (pulumi-aws or aws-native) has a VPC network origin: vpcConfiguration.vpcId is set "
    "(an Internet origin cannot be changed after creation)."
)
REMEDIATION = (
    "Create the access point with vpc_configuration=aws.s3.AccessPointVpcConfigurationArgs(vpc_id=<the "
    "cluster's VPC ID>) (aws-native: vpc_configuration=aws_native.s3.AccessPointVpcConfigurationArgs(vpc_id=...)). "
    "The network origin is fixed at creation, so this replaces an existing access point."
)


def _validate(
    args: ResourceValidationArgs, props: Props, cfg: Config, verdicts: Verdicts, report_violation: ReportViolation
) -> None:
    exempt = {str(n) for n in cfg.get("exemptAccessPoints") or []}
    if args.name in exempt or props.get("name") in exempt:
        return
    vpc_id = get(props, "vpcConfiguration", "vpcId")
    if vpc_id is UNKNOWN:
        verdicts.cannot_judge(f"access point {args.name}: vpcConfiguration.vpcId is not known yet")
        return
    if isinstance(vpc_id, str) and vpc_id.strip():
        return
    provider = provider_of(args)
    account = provider.account if provider is not None else None
    where = ""
    if provider is not None:
        where = f", created with {provider.label}" + (f" in account {account}" if isinstance(account, str) else "")
    bucket = props.get("bucket")
    on = f" on bucket {bucket}" if isinstance(bucket, str) and bucket else ""
    value = "has no vpcConfiguration" if vpc_id is None else f"has vpcConfiguration.vpcId {vpc_id!r}"
    module = TYPES[args.resource_type]
    report_violation(
        f"access point {args.name}{on}{where} {value}, so its network origin is Internet: create it with "
        f"vpc_configuration={module}.AccessPointVpcConfigurationArgs(vpc_id=<the cluster's VPC ID>) (the origin "
        "is fixed at creation: this replaces the access point)"
    )


POLICY = declare(
    NAME, DESCRIPTION, REMEDIATION, CONFIG, level="mandatory", severity="high", resource=_validate, types=TYPES
)
