"""Behaviour checks: what must be true on AWS for the platform to work, judged from the plan.

A guardrail asks whether an input is allowed; a behaviour check asks whether the deployed system works: who
reaches what on which port (reachability), what must be ready before what (readiness), which call is allowed
under which condition keys (authorization), which pod runs on which node and who may create which object
(Kubernetes). Each check is a pure function ``evaluate(graph, config) -> Findings`` over the stack's
:class:`~._lib.Graph`, so that the same code serves

- the policy pack (a stack policy per check, mandatory by default: a problem is a violation naming the
  resource, the flow / permission / pod and the fix), at `pulumi preview`, `pulumi up` and offline;
- the figures the README quotes (``tools/behaviour.py``: flows proved, calls authorized, pods placed);
- the tests, which call ``evaluate`` on a program's plan (:func:`graph_of`) without the analyzer round trip.

What a check cannot know yet (an unknown value at preview) is "cannot judge", as for the other rules; the
offline preview also judges the plan with every value resolved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Callable, Iterable, Mapping, Optional

from pulumi_policy import ReportViolation

from ._declare import Config, declare, option
from ._lib import Graph, Node, Verdicts


@dataclass
class Problem:
    node: Optional[Node]
    """The resource the problem is reported on (None: the stack)."""
    message: str
    """What does not work: the flow, permission, pod or order, and the fix."""


@dataclass
class Findings:
    """What a behaviour check found."""

    kind: str
    """What is counted: "flows", "calls", "pods", "orders" ..."""
    proved: list[str] = field(default_factory=list)
    """Each behaviour shown to work, one line each (e.g. "vpn client -> login NLB tcp/22")."""
    problems: list[Problem] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    def prove(self, what: str) -> None:
        if what not in self.proved:
            self.proved.append(what)

    def fail(self, node: Optional[Node], message: str) -> None:
        if not any(p.node is node and p.message == message for p in self.problems):
            self.problems.append(Problem(node, message))

    def cannot_judge(self, message: str) -> None:
        if message not in self.unknown:
            self.unknown.append(message)

    def merge(self, other: "Findings") -> None:
        for p in other.proved:
            self.prove(p)
        for prob in other.problems:
            self.fail(prob.node, prob.message)
        for u in other.unknown:
            self.cannot_judge(u)


Evaluate = Callable[[Graph, Config], Findings]
EXEMPT = "exemptResources"
EXEMPT_OPTION = option(
    [],
    "Resource names whose problems this check does not report: an exception accepted on purpose (record why), "
    "e.g. a flow served by something outside the stack.",
)


def declare_behaviour(
    name: str,
    description: str,
    remediation: str,
    evaluate: Evaluate,
    config: Optional[Mapping[str, dict[str, Any]]] = None,
    *,
    severity: str = "high",
):
    """The stack policy of a behaviour check: each problem is a violation on its resource (mandatory by
    default: what it finds would not work on AWS), each unknown a "cannot judge" note."""

    def check(graph: Graph, cfg: Config, verdicts: Verdicts, report_violation: ReportViolation) -> None:
        found = evaluate(graph, cfg)
        exempt = {str(n) for n in cfg.get(EXEMPT) or []}
        for p in found.problems:
            if p.node is not None and p.node.name in exempt:
                continue
            if p.node is not None:
                report_violation(p.message, p.node.urn)
            else:
                report_violation(p.message)
        for u in found.unknown:
            verdicts.cannot_judge(u)

    options = {**dict(config or {}), EXEMPT: EXEMPT_OPTION}
    return declare(name, description, remediation, options, level="mandatory", severity=severity, stack=check)


def graph_of(registrations: Iterable[Any], stack_outputs: Optional[Mapping[str, Any]] = None) -> Graph:
    """The :class:`~._lib.Graph` of a plan recorded by ``tools.harness`` (``RunResult.registrations``), with
    each resource's state as AnalyzeStack sees it (inputs over the mock's outputs; a read resource's outputs
    over its inputs; the stack's own outputs, ``stack_outputs``, on its ``pulumi:pulumi:Stack``), for checks
    run outside the pack."""
    regs = list(registrations)
    by_urn = {r.urn: SimpleNamespace(urn=r.urn) for r in regs}
    resources = []
    for r in regs:
        state = {**r.inputs, **r.outputs} if r.read else {**r.outputs, **r.inputs}
        if r.type == "pulumi:pulumi:Stack" and stack_outputs:
            state = {**state, **stack_outputs}
        resources.append(
            SimpleNamespace(
                urn=r.urn,
                resource_type=r.type,
                name=r.name,
                props=state,
                property_dependencies={
                    k: [by_urn[u] for u in v if u in by_urn] for k, v in (r.property_dependencies or {}).items()
                }
                or ({} if r.read else {"": []}),
                dependencies=[by_urn[u] for u in r.dependencies if u in by_urn],
                opts=SimpleNamespace(protect=r.protect, parent=r.parent),
                provider=None,
                parent=None,
                raw_registration=r,
            )
        )
    return Graph(resources)
