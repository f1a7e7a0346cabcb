"""stateful-protection: what holds data or identity is protected from ``pulumi destroy`` and replacement.

Deleting an FSx file system (Lustre, OpenZFS, ONTAP, Windows) or a directory by accident (a renamed
resource, a changed replacement property, a stray ``pulumi destroy``) loses the users' data or every identity
on the cluster. Such resources must carry
the ``protect`` resource option, which the engine hands the policy in the resource's options. Advisory by
default, since a test stack may turn protection off to be torn down; ``prod.json`` makes it mandatory.
"""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs

from ._declare import Config, Props, declare, option
from ._lib import Verdicts

NAME = "stateful-protection"
CONFIG = {
    "protectedTypes": option(
        [
            "aws:fsx/lustreFileSystem:LustreFileSystem",
            "aws:fsx/ontapFileSystem:OntapFileSystem",
            "aws:fsx/openZfsFileSystem:OpenZfsFileSystem",
            "aws:fsx/windowsFileSystem:WindowsFileSystem",
            "aws:efs/fileSystem:FileSystem",
            "aws:directoryservice/directory:Directory",
            "aws-native:fsx:FileSystem",
            "aws-native:directoryservice:MicrosoftAd",
            "aws-native:directoryservice:SimpleAd",
        ],
        "Resource types that must be protected.",
    ),
    "exemptNames": option([], "Resource names exempt from the rule (e.g. a scratch file system)."),
}

DESCRIPTION = (
    "File systems and directories are protected (the protect resource option), so no delete or "
    "replacement can happen by accident."
)
REMEDIATION = (
    "Register the resource with pulumi.ResourceOptions(protect=True) (this project: fsx.protect and "
    "directory.protect, on by default). To remove it on purpose, turn protection off in one `pulumi up`, "
    "then delete it in the next."
)


def _validate(
    args: ResourceValidationArgs, props: Props, cfg: Config, verdicts: Verdicts, report_violation: ReportViolation
) -> None:
    if args.resource_type not in {str(t) for t in cfg.get("protectedTypes") or []}:
        return
    if args.name in {str(n) for n in cfg.get("exemptNames") or []}:
        return
    if not (args.opts and args.opts.protect):
        report_violation(
            "holds data or identity but is not protected: a replacement or `pulumi destroy` would "
            "delete it; set protect=True"
        )


POLICY = declare(NAME, DESCRIPTION, REMEDIATION, CONFIG, level="advisory", severity="high", resource=_validate)
