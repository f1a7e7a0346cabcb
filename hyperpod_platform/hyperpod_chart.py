"""The HyperPod Helm chart as data: where it comes from, where the fetched copy is, the platform's values for
it, and which values keys it has.

The chart (``helm_chart/HyperPodHelmChart`` of aws/sagemaker-hyperpod-cli) is published only as a git
directory. ``scripts/fetch-chart`` puts the commit :data:`CHART_COMMIT` at ``charts/hyperpod/`` in the
project::

    charts/hyperpod/HyperPodHelmChart/   the chart (the stale duplicate sub-chart archive removed)
    charts/hyperpod/COMMIT               the commit it came from
    charts/hyperpod/LICENSE, NOTICE      the repository's

Values: :data:`DEFAULT_VALUES` are the platform's defaults, :func:`platform_values` adds the region and merges
the stack's ``eks.helmValues`` over them (:func:`merge_values`, Helm's own deep merge), and
:func:`value_key_problems` / :func:`unknown_value_keys` check every key against the chart and its sub-charts,
returning data (dotted paths, a suggestion, a message) for the caller to report.

Nothing here imports Pulumi or the stack program; the functions read only the chart directory they are given.
"""

from __future__ import annotations

import copy
import difflib
import os
import re
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional, Sequence

import yaml

CHART_REPO = "https://github.com/aws/sagemaker-hyperpod-cli.git"
"""The repository the chart is published in (only as a directory; there is no chart repository)."""
CHART_COMMIT = "011ca927123e02b35a399935bbb3ab1905fe33c7"
"""The pinned commit (2026-06-22). ``scripts/fetch-chart`` carries the same two values; a test keeps them equal."""
CHART_SUBDIR = "helm_chart/HyperPodHelmChart"
"""The chart's directory in the repository."""
CHART_NAME = "hyperpod-helm-chart"
"""``name`` in the chart's ``Chart.yaml``."""

FETCH_DIR = Path("charts") / "hyperpod"
"""Where ``scripts/fetch-chart`` puts the chart, relative to the project directory."""
CHART_DIR_ENV = "HYPERPOD_PLATFORM_CHART_DIR"
"""Environment variable naming the chart directory (``HyperPodHelmChart``), overriding the default."""

# Sub-chart archives ``<name>-<version>.tgz``: the name is what comes before the version.
_ARCHIVE = re.compile(r"^(?P<name>.+?)-(?P<version>v?\d[^-]*(?:-[0-9A-Za-z.]+)?)\.tgz$")


def default_chart_dir(project_dir: Optional[os.PathLike | str] = None) -> Path:
    """The chart directory the program reads: ``$HYPERPOD_PLATFORM_CHART_DIR`` when set, else
    ``<project_dir>/charts/hyperpod/HyperPodHelmChart`` (``project_dir`` defaults to the working directory,
    which is the project directory when the Pulumi CLI runs the program)."""
    from_env = os.environ.get(CHART_DIR_ENV)
    if from_env:
        return Path(from_env)
    return Path(project_dir if project_dir is not None else Path.cwd()) / FETCH_DIR / "HyperPodHelmChart"


def fetched_commit(chart_dir: os.PathLike | str) -> Optional[str]:
    """The commit ``scripts/fetch-chart`` recorded beside ``chart_dir`` (its parent's ``COMMIT``), or None."""
    marker = Path(chart_dir).parent / "COMMIT"
    try:
        text = marker.read_text().split()
    except OSError:
        return None
    return text[0] if text else None


def stale_archives(chart_dir: os.PathLike | str) -> list[Path]:
    """Sub-chart archives ``charts/<name>-<version>.tgz`` that duplicate a ``charts/<name>/`` directory.

    Upstream ships ``health-monitoring-agent-0.1.0.tgz`` (July 2025) beside the newer directory; Helm loads
    both and keeps either, so renders differ from run to run. ``scripts/fetch-chart`` removes them."""
    charts = Path(chart_dir) / "charts"
    found = []
    for archive in sorted(charts.glob("*.tgz")):
        match = _ARCHIVE.match(archive.name)
        if match and (charts / match["name"] / "Chart.yaml").is_file():
            found.append(archive)
    return found


def chart_dir_problems(chart_dir: os.PathLike | str) -> list[str]:
    """What is wrong with a chart directory for this platform (empty when it is the pinned, fetched chart):
    no ``Chart.yaml``, another chart, another commit than :data:`CHART_COMMIT`, a stale sub-chart archive."""
    chart_dir = Path(chart_dir)
    chart_yaml = chart_dir / "Chart.yaml"
    if not chart_yaml.is_file():
        return [f"{chart_dir} holds no Chart.yaml: run scripts/fetch-chart to fetch the HyperPod Helm chart"]
    problems = []
    name = (yaml.safe_load(chart_yaml.read_text()) or {}).get("name")
    if name != CHART_NAME:
        problems.append(f"{chart_dir} is chart {name!r}, not the HyperPod Helm chart ({CHART_NAME})")
    commit = fetched_commit(chart_dir)
    if commit != CHART_COMMIT:
        problems.append(
            f"{chart_dir} is {'from commit ' + commit if commit else 'of unknown origin (no COMMIT beside it)'}, "
            f"not the pinned {CHART_COMMIT}: run scripts/fetch-chart"
        )
    for archive in stale_archives(chart_dir):
        problems.append(f"{archive} duplicates the sub-chart directory beside it: run scripts/fetch-chart")
    return problems


# ---------------------------------------------------------------------------------------------------- values

DEFAULT_VALUES: Mapping[str, Any] = {
    # Stated although the chart's values.yaml has the same: the platform's job auto-resume and node health
    # depend on these, so a chart bump that turned one off by default must not switch it off silently.
    "trainingOperators": {"enabled": True},  # Kubeflow PyTorchJob (examples/jobs; auto-resume needs 1.7-1.8.1)
    "health-monitoring-agent": {"enabled": True},  # labels nodes sagemaker.amazonaws.com/node-health-status
    "deep-health-check": {"enabled": True},  # on-start deep health checks (InstanceStress, InstanceConnectivity)
    "job-auto-restart": {"enabled": True},  # RBAC for sagemaker.amazonaws.com/enable-job-auto-resume
    "hyperpod-patching": {"enabled": True},  # rolling node updates and patching
    "mpi-operator": {"enabled": True},  # MPIJob (training-operators leaves mpijob out to avoid the clash)
    # Everything else keeps the chart's defaults: the device plugins (NVIDIA, EFA, Neuron) on, cert-manager,
    # MLflow, storage, the RBAC charts, the inference operator and the GPU operator off. cert-manager stays
    # off: nothing enabled here needs it, and the EKS add-on is the usual way to have it. The FSx volume is
    # the platform's own (a PV/PVC from the stack), not the chart's storage sub-chart.
}
"""The platform's values for the chart, before the region and ``eks.helmValues``."""


def merge_values(defaults: Mapping[str, Any], overrides: Optional[Mapping[str, Any]]) -> dict[str, Any]:
    """``overrides`` deep-merged over ``defaults`` as Helm merges values files: maps merge key by key, any
    other value (a list, a scalar, ``None``) replaces. ``None`` is kept: Helm then deletes the chart's default
    for that key. Neither argument is changed; the result shares no containers with them."""
    merged = copy.deepcopy(dict(defaults))
    for key, value in (overrides or {}).items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_values(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


CHART_TOLERATIONS: Mapping[str, tuple[Mapping[str, Any], ...]] = {
    # The chart's values.yaml at CHART_COMMIT: the aws/eks-charts EFA DaemonSet tolerates CriticalAddonsOnly
    # (fixed in its template) plus `.Values.tolerations`; the NVIDIA one only `.Values.tolerations`.
    "aws-efa-k8s-device-plugin": (
        {"key": "CriticalAddonsOnly", "operator": "Exists"},
        {"effect": "NoSchedule", "key": "aws.amazon.com/efa", "operator": "Exists"},
        {
            "key": "sagemaker.amazonaws.com/node-health-status",
            "operator": "Equal",
            "value": "Unschedulable",
            "effect": "NoSchedule",
        },
    ),
    "nvidia-device-plugin": (
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
        {
            "key": "sagemaker.amazonaws.com/node-health-status",
            "operator": "Equal",
            "value": "Unschedulable",
            "effect": "NoSchedule",
        },
    ),
}
"""Sub-chart key -> the tolerations the chart's values give the node DaemonSet whose extra tolerations are
``<key>.tolerations``. These are the chart's only node DaemonSets that take tolerations from values: the Neuron
device plugin's are fixed in its template, the health monitoring agent tolerates every taint
(``policies/data/kubernetes_daemonsets.json`` has each DaemonSet of the chart). A list value replaces the
chart's, so the platform's list repeats these."""


def _tolerates(toleration: Mapping[str, Any], taint: Mapping[str, Any]) -> bool:
    """Kubernetes' rule: the effect matches (or is empty), and the key matches with ``Exists``, or key and value
    with ``Equal`` (an empty key with ``Exists`` matches every taint)."""
    if toleration.get("effect") and toleration["effect"] != taint.get("effect"):
        return False
    if toleration.get("operator", "Equal") == "Exists":
        return not toleration.get("key") or toleration["key"] == taint.get("key")
    return toleration.get("key") == taint.get("key") and (toleration.get("value") or "") == (taint.get("value") or "")


def taint_tolerations(taints: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Values giving each node DaemonSet of :data:`CHART_TOLERATIONS` the chart's tolerations plus one for each
    of ``taints`` (``key``, ``value``, ``effect``) it does not tolerate yet; empty without such taints."""
    values: dict[str, Any] = {}
    for key, own in CHART_TOLERATIONS.items():
        tolerations = [dict(t) for t in own]
        for taint in taints:
            if taint.get("effect") == "PreferNoSchedule" or any(_tolerates(t, taint) for t in tolerations):
                continue  # PreferNoSchedule does not keep a DaemonSet's pod off the node
            toleration = {"key": taint["key"], "operator": "Exists", "effect": taint["effect"]}
            if taint.get("value") is not None:
                toleration.update(operator="Equal", value=taint["value"])
            tolerations.append(toleration)
        if len(tolerations) > len(own):
            values[key] = {"tolerations": tolerations}
    return values


def platform_values(
    region: Optional[str] = None,
    overrides: Optional[Mapping[str, Any]] = None,
    taints: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The values the platform installs the chart with: :data:`DEFAULT_VALUES`, ``global.region`` set to
    ``region`` when given, tolerations for ``taints`` (every taint of the cluster's instance groups, as
    ``{"key", "value", "effect"}``) on the node DaemonSets that take them (:func:`taint_tolerations`), then
    ``overrides`` (the stack's ``eks.helmValues``) merged over them.

    ``global.region`` picks the health monitoring agent's ECR image. Without it the chart looks for a region
    label on the cluster's nodes, and when the release is installed the HyperPod nodes do not exist yet, so it
    falls back to us-east-1's image for every cluster.

    A device plugin must run on every node of its accelerator: a group tainted with a key its DaemonSet does not
    tolerate gets no EFA or GPU devices. Tolerating a taint of a group a DaemonSet does not select changes
    nothing (its node affinity still picks the nodes), so every group's taints are given to each."""
    values = merge_values(DEFAULT_VALUES, {"global": {"region": region}} if region else {})
    values = merge_values(values, taint_tolerations(taints))
    return merge_values(values, overrides)


# ------------------------------------------------------------------------------------------- sub-charts


@dataclass(frozen=True)
class Dependency:
    """One entry of a chart's ``Chart.yaml`` ``dependencies``."""

    name: str
    version: str
    repository: str
    alias: Optional[str] = None
    condition: Optional[str] = None
    tags: tuple[str, ...] = ()
    path: Optional[Path] = None
    """The sub-chart in the fetched chart: the ``file://`` directory, or for a remote one an archive
    ``charts/<name>-*.tgz`` that ``helm dependency build`` left; None when it is not there."""

    @property
    def key(self) -> str:
        """The key of the sub-chart's values in the parent's values (the alias, else the name)."""
        return self.alias or self.name

    @property
    def remote(self) -> bool:
        """Fetched from a chart repository at deploy time (not ``file://``)."""
        return not self.repository.startswith("file://")

    def enabled(self, values: Mapping[str, Any]) -> bool:
        """Whether Helm installs it with the parent's (merged) ``values``: the first ``condition`` path that
        holds a bool decides, then ``tags`` (any true tag enables), else it is on."""
        for condition in (self.condition or "").split(","):
            found = _lookup(values, condition.strip())
            if isinstance(found, bool):
                return found
        tags = values.get("tags") if isinstance(values.get("tags"), Mapping) else {}
        states = [tags[t] for t in self.tags if isinstance(tags.get(t), bool)]
        return any(states) if states else True


def _lookup(values: Mapping[str, Any], dotted: str) -> Any:
    node: Any = values
    for part in dotted.split(".") if dotted else ():
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node if dotted else None


def chart_dependencies(chart_dir: os.PathLike | str) -> list[Dependency]:
    """The dependencies ``Chart.yaml`` declares, each with where the fetched chart has it (``path``)."""
    chart_dir = Path(chart_dir)
    chart = yaml.safe_load((chart_dir / "Chart.yaml").read_text()) or {}
    found = []
    for entry in chart.get("dependencies") or ():
        name, repository = str(entry["name"]), str(entry.get("repository") or "")
        path: Optional[Path] = None
        if repository.startswith("file://"):
            local = (chart_dir / repository[len("file://") :]).resolve()
            path = local if (local / "Chart.yaml").is_file() else None
        else:
            for archive in sorted((chart_dir / "charts").glob(f"{name}-*.tgz")):
                match = _ARCHIVE.match(archive.name)
                if match and match["name"] == name:
                    path = archive
        found.append(
            Dependency(
                name=name,
                version=str(entry.get("version", "")),
                repository=repository,
                alias=entry.get("alias"),
                condition=entry.get("condition"),
                tags=tuple(entry.get("tags") or ()),
                path=path,
            )
        )
    return found


def chart_values(chart_dir: os.PathLike | str) -> dict[str, Any]:
    """The chart's own ``values.yaml`` (empty when it has none)."""
    file = Path(chart_dir) / "values.yaml"
    return (yaml.safe_load(file.read_text()) or {}) if file.is_file() else {}


def missing_remote_dependencies(
    chart_dir: os.PathLike | str, values: Optional[Mapping[str, Any]] = None
) -> list[Dependency]:
    """Remote sub-charts that ``values`` (merged over the chart's values.yaml) enable but the fetched chart
    does not hold: Helm downloads them at deploy time (``dependency_update``), an offline render leaves them
    out. Only the chart's direct dependencies (a disabled sub-chart's own are not looked at)."""
    merged = merge_values(chart_values(chart_dir), values)
    return [d for d in chart_dependencies(chart_dir) if d.remote and d.path is None and d.enabled(merged)]


# ------------------------------------------------------------------------------------- values key checks

FREE_FORM_KEYS = frozenset(
    {
        "annotations",
        "labels",
        "podAnnotations",
        "podLabels",
        "extraLabels",
        "nodeSelector",
        "affinity",
        "tolerations",
        "resources",
        "securityContext",
        "podSecurityContext",
        "env",
        "global",
    }
)
"""Keys whose contents are Kubernetes objects or free labels passed through (``affinity``, ``resources``...) or
Helm globals: any key below them is accepted, whatever example the chart's values.yaml gives."""

# Template expressions whose map's keys are data, not chart settings: `range $k, $v := .Values.x`,
# `toYaml .Values.x`, `hasKey .Values.x $var`, `index .Values.x $var`.
_VALUES_REF = re.compile(r"\$?\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)")
_FREE_USES = [
    re.compile(r"\brange\s+(?:\$\w+\s*(?:,\s*\$\w+\s*)?:=\s*)?\$?\.Values((?:\.\w+)+)"),
    re.compile(r"\b(?:toYaml|toJson|toPrettyJson)\s+\(?\$?\.Values((?:\.\w+)+)"),
    re.compile(r"\b(?:hasKey|index|get)\s+\(?\$?\.Values((?:\.\w+)+)\)?\s+\$"),
]


@dataclass
class _Level:
    """What keys a level of values may have: ``keys`` maps a key to its own level, or to None for a single
    value (no keys below); ``free`` accepts any key; ``chart`` names the chart for messages; ``remote`` is a
    remote sub-chart whose own values are not in the fetched chart."""

    chart: str
    keys: dict[str, Optional["_Level"]] = field(default_factory=dict)
    free: bool = False
    remote: Optional[Dependency] = None


def _free(chart: str) -> _Level:
    return _Level(chart, free=True)


def _from_values(data: Any, chart: str) -> Optional[_Level]:
    """The level a values.yaml node declares: a map's keys; ``{}`` and ``null`` are free; else a value."""
    if data is None or (isinstance(data, Mapping) and not data):
        return _free(chart)
    if not isinstance(data, Mapping):
        return None
    level = _Level(chart)
    for key, value in data.items():
        key = str(key)
        node = _from_values(value, chart)
        level.keys[key] = _free(chart) if key in FREE_FORM_KEYS and node is not None else node
    return level


def _add_path(level: _Level, parts: Sequence[str], free: bool = False) -> None:
    """Make ``parts`` a known path under ``level`` (a map at each step); ``free``: anything below its end."""
    for i, part in enumerate(parts):
        if level.free:
            return
        if i == len(parts) - 1:
            if free:
                level.keys[part] = _free(level.chart)
            else:
                level.keys.setdefault(part, None)
            return
        node = level.keys.get(part)
        if node is None:
            node = level.keys[part] = _Level(level.chart)
        level = node


def _merge_levels(a: Optional[_Level], b: Optional[_Level]) -> Optional[_Level]:
    if a is None or b is None:
        return a or b
    merged = _Level(b.chart, free=a.free or b.free, remote=a.remote or b.remote)
    for key in dict.fromkeys([*a.keys, *b.keys]):
        merged.keys[key] = _merge_levels(a.keys.get(key), b.keys.get(key))
    return merged


def _template_texts(chart_dir: Path) -> Iterator[str]:
    templates = chart_dir / "templates"
    for file in sorted(templates.rglob("*")) if templates.is_dir() else ():
        if file.is_file():
            yield file.read_text(errors="replace")


def _chart_level(chart_dir: Path, chart: str) -> _Level:
    """Every key a chart directory knows: its values.yaml, the ``.Values`` paths its templates read, the
    paths in its dependencies' conditions and tags, and each sub-chart's own keys under its name or alias."""
    declared = chart_values(chart_dir)
    level = _Level(chart)
    if isinstance(declared, Mapping) and declared:
        level = _from_values(declared, chart) or level
    level.keys["global"] = _free(chart)
    for text in _template_texts(chart_dir):
        for match in _VALUES_REF.finditer(text):
            _add_path(level, match[1].lstrip(".").split("."))
        for pattern in _FREE_USES:
            for match in pattern.finditer(text):
                _add_path(level, match[1].lstrip(".").split("."), free=True)
    for dep in chart_dependencies(chart_dir):
        for condition in (dep.condition or "").split(","):
            if condition.strip():
                _add_path(level, condition.strip().split("."))
        for tag in dep.tags:
            _add_path(level, ["tags", tag])
        own = _dependency_level(dep, f"{chart}/{dep.key}" if chart != CHART_NAME else dep.key)
        parent_declared = level.keys.get(dep.key)
        sub = _merge_levels(parent_declared, own)
        assert sub is not None
        sub.keys.setdefault("enabled", None)
        sub.keys["global"] = _free(sub.chart)
        level.keys[dep.key] = sub
    return level


def _dependency_level(dep: Dependency, chart: str) -> _Level:
    if dep.path is None:
        return _Level(chart, remote=dep)  # only what the parent sets for it can be known
    if dep.path.is_dir():
        return _chart_level(dep.path, chart)
    with tempfile.TemporaryDirectory() as tmp, tarfile.open(dep.path) as archive:
        archive.extractall(tmp, filter="data")
        roots = [p for p in Path(tmp).iterdir() if (p / "Chart.yaml").is_file()]
        return _chart_level(roots[0], chart) if roots else _Level(chart, remote=dep)


@dataclass(frozen=True)
class ValueKeyProblem:
    """A values key the chart does not have."""

    path: str
    """Dotted path of the key in the values (``health-monitoring-agent.regon``)."""
    message: str
    """What is wrong, naming the path (without any config prefix), with the suggestion when there is one."""
    suggestion: Optional[str] = None
    """The closest existing dotted path, when one is close (difflib)."""
    kind: str = "unknown"
    """``unknown`` (no such key) or ``not-a-map`` (a map of settings in the chart, given a single value)."""


def value_key_problems(chart_dir: os.PathLike | str, values: Mapping[str, Any]) -> list[ValueKeyProblem]:
    """Every key of ``values`` that the chart (``chart_dir``, a ``HyperPodHelmChart`` directory) does not have,
    in the order of ``values``. Empty when all keys exist.

    A key exists when the chart's or a sub-chart's values.yaml declares it, or their templates read it
    (``.Values.a.b``; several sub-charts read keys their values.yaml leaves out, e.g.
    ``cluster-role-and-bindings.roleName``), or it is a path in a dependency's ``condition``
    (``trainingOperators.enabled``). Under a sub-chart's key (its name or alias), the sub-chart's own keys
    count, and ``enabled`` and ``global`` are always allowed. Anything below these is accepted: ``global``;
    maps the values declare empty (``{}``) or ``null``; :data:`FREE_FORM_KEYS`; maps the templates use as
    data (``range``, ``toYaml``, ``hasKey``/``index`` with a variable). Lists are values: their items are
    not checked. A remote sub-chart (cert-manager, the NVIDIA and EFA device plugins) is known only by what
    the parent's values set for it, unless ``helm dependency build`` left its archive in ``charts/``."""
    root = _chart_level(Path(chart_dir), CHART_NAME)
    problems: list[ValueKeyProblem] = []
    _check(root, values, (), None, problems)
    return problems


def unknown_value_keys(chart_dir: os.PathLike | str, values: Mapping[str, Any]) -> list[str]:
    """The dotted paths of :func:`value_key_problems` (every key the chart does not have)."""
    return [problem.path for problem in value_key_problems(chart_dir, values)]


def _dotted(parts: Sequence[str]) -> str:
    return ".".join(parts)


def _check(
    level: _Level,
    values: Mapping[str, Any],
    where: tuple[str, ...],
    remote: Optional[Dependency],
    problems: list[ValueKeyProblem],
) -> None:
    if level.free:
        return
    remote = level.remote or remote
    for raw_key, value in values.items():
        key = str(raw_key)
        here = (*where, key)
        if key not in level.keys:
            problems.append(_unknown(level, here, remote))
            continue
        node = level.keys[key]
        if node is None:
            if isinstance(value, Mapping):
                for sub in value:
                    problems.append(
                        ValueKeyProblem(
                            _dotted((*here, str(sub))),
                            f"`{_dotted((*here, str(sub)))}` is not a value of the chart: "
                            f"`{_dotted(here)}` is a single value, not a map",
                        )
                    )
            continue
        if isinstance(value, Mapping):
            _check(node, value, here, remote, problems)
        elif value is not None and not node.free and node.keys:
            problems.append(
                ValueKeyProblem(
                    _dotted(here),
                    f"`{_dotted(here)}` is a map of settings in the chart, not a single value "
                    f"(got {type(value).__name__} {value!r})",
                    kind="not-a-map",
                )
            )


def _unknown(level: _Level, here: tuple[str, ...], remote: Optional[Dependency]) -> ValueKeyProblem:
    key, parent = here[-1], here[:-1]
    close = difflib.get_close_matches(key, list(level.keys), n=1, cutoff=0.6)
    if not close:
        lowered = {k.lower(): k for k in level.keys}
        close = [lowered[key.lower()]] if key.lower() in lowered else []
    suggestion = _dotted((*parent, close[0])) if close else None
    path = _dotted(here)
    chart = "the HyperPod chart" if level.chart == CHART_NAME else f"sub-chart {level.chart}"
    if remote is not None:
        message = (
            f"`{path}` cannot be checked: {remote.name} {remote.version} is a remote sub-chart "
            f"({remote.repository}) that the fetched chart does not hold, and its parent chart's values have no "
            f"such key for it (`helm dependency build` on the chart lets its own values be checked)"
        )
    else:
        message = f"`{path}` is not a value of {chart}"
    if suggestion:
        message += f"; did you mean `{suggestion}`?"
    return ValueKeyProblem(path, message, suggestion)
