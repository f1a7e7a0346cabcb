"""iam-parliament-findings: what the parliament IAM linter finds in identity policies, as advice.

Part of the least-privilege guardrail, kept as its own policy so that its findings stay advisory while
iam-least-privilege is mandatory (a policy reports at one enforcement level). Trust policies are not linted
(parliament expects a Resource element). Findings whose issue is in ``ignoreIssues`` are skipped.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs

from ._declare import Config, Props, declare, option
from ._iam import DOCUMENTS, documents
from ._lib import UNKNOWN, Verdicts, parse_document

NAME = "iam-parliament-findings"
CONFIG = {"ignoreIssues": option([], "parliament issue codes to skip (e.g. RESOURCE_STAR).")}

DESCRIPTION = "Findings of the parliament IAM linter in identity policies (advisory part of iam-least-privilege)."
REMEDIATION = (
    "Read the finding: UNKNOWN_ACTION / UNKNOWN_PREFIX are typos, RESOURCE_MISMATCH means the action does "
    "not apply to the resource ARN, RESOURCE_STAR means an action that supports resource ARNs is granted "
    "on '*'. Fix the document, or list the issue in ignoreIssues with a reason in the stack's docs."
)


def _warm_up() -> None:
    """Import parliament and load its IAM data once, in the background while the pack waits for its first
    request (the first document would otherwise pay for it)."""
    try:
        from parliament import analyze_policy_string

        analyze_policy_string(json.dumps({"Version": "2012-10-17", "Statement": []}))
    except Exception:  # noqa: BLE001 - _findings reports a missing parliament itself
        pass


threading.Thread(target=_warm_up, name="parliament-warm-up", daemon=True).start()


def _findings(doc: Any) -> list[tuple[str, str]]:
    """(issue, text) for each finding of parliament in ``doc``."""
    try:
        from parliament import analyze_policy_string, enhance_finding
    except ImportError:  # the pack still loads; say so instead of passing silently
        return [
            (
                "PARLIAMENT_MISSING",
                "parliament is not installed in the policy pack's environment (see policies/requirements.txt)",
            )
        ]
    policy = analyze_policy_string(json.dumps(doc))
    out = []
    for finding in policy.findings:
        try:
            finding = enhance_finding(finding)
            severity = getattr(finding, "severity", "")
        except Exception:  # noqa: BLE001 - an unknown issue type still gets reported
            severity = ""
        if severity == "MUTE":
            continue
        out.append((finding.issue, f"{finding.issue}{f' ({severity})' if severity else ''}: {finding.detail}"))
    return out


def _validate(
    args: ResourceValidationArgs, props: Props, cfg: Config, verdicts: Verdicts, report_violation: ReportViolation
) -> None:
    ignore = {str(i) for i in cfg.get("ignoreIssues") or []}
    for where, kind, raw in documents(args.resource_type, props):
        if kind != "identity":
            continue
        doc, error = parse_document(raw)
        if doc is UNKNOWN:
            verdicts.cannot_judge(f"{where} is not known yet")
            continue
        if error or doc is None:
            continue  # iam-least-privilege reports malformed documents
        for issue, text in _findings(doc):
            if issue not in ignore:
                report_violation(f"{where}: {text}")


POLICY = declare(
    NAME, DESCRIPTION, REMEDIATION, CONFIG, level="advisory", severity="low", resource=_validate, types=DOCUMENTS
)
