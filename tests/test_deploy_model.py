"""tools/deploy_model.py: longest dependency path weighted by typical creation times."""

from __future__ import annotations

import json

import pytest

from tools import deploy_model
from tools.deploy_model import DEFAULT_SECONDS, PlanCycleError, model

TABLE = {
    "t:m:A": (10, "test"),
    "t:m:B": (20, "test"),
    "t:m:C": (5, "test"),
    "t:m:D": (1, "test"),
    "t:m:E": (40, "test"),
    "t:m:F": (7, "test"),
    "t:m:G": (2, "test"),
    "t:m:H": (3, "test"),
}


def res(name, typ, deps=(), pdeps=None, parent=None, custom=True, read=False):
    return {
        "urn": f"urn:{name}",
        "type": typ,
        "name": name,
        "parent": parent and f"urn:{parent}",
        "custom": custom,
        "read": read,
        "dependencies": [f"urn:{d}" for d in deps],
        "propertyDependencies": {k: [f"urn:{d}" for d in v] for k, v in (pdeps or {}).items()},
    }


def synthetic() -> list[dict]:
    return [
        res("a", "t:m:A"),
        res("b", "t:m:B", deps=["a"]),
        res("c", "t:m:C", pdeps={"x": ["a"]}),  # only a property dependency
        res("d", "t:m:D", deps=["b"], pdeps={"y": ["c"]}),  # diamond: a -> b, c -> d
        res("k", "t:c:K", custom=False),  # component
        res("e", "t:m:E", parent="k"),
        res("k2", "t:c:K2", parent="k", custom=False),  # nested component
        res("f", "t:m:F", deps=["d"], parent="k2"),
        res("g", "t:m:G", deps=["k"]),  # depends on the component
        res("r", "t:m:E", read=True),  # a read of an otherwise 40 s type
        res("h", "t:m:H", deps=["r"]),
        res("u", "x:y:Unknown", deps=["g"]),  # unknown type
    ]


def test_synthetic_plan_by_hand():
    m = model(synthetic(), table=TABLE)
    s = m.steps
    # diamond: d waits for the slower branch (a 10 + b 20), not a + c (15)
    assert (s["urn:b"].finish, s["urn:c"].start, s["urn:c"].finish) == (30, 10, 15)
    assert (s["urn:d"].start, s["urn:d"].finish) == (30, 31)
    # f sits in a nested component: 31 + 7; g waits for every descendant of k: max(e 40, f 38)
    assert s["urn:f"].finish == 38
    assert (s["urn:g"].start, s["urn:g"].finish) == (40, 42)
    # components and reads take 0 s
    assert s["urn:k"].seconds == s["urn:k2"].seconds == s["urn:r"].seconds == 0
    assert s["urn:h"].finish == 3
    # unknown type: the default, and reported
    assert s["urn:u"].seconds == DEFAULT_SECONDS and s["urn:u"].unknown
    assert m.unknown_types == {"x:y:Unknown": ["u"]}
    assert m.total == 42 + DEFAULT_SECONDS
    assert [p.name for p in m.path] == ["e", "g", "u"]
    assert [c.name for c in m.contributors()] == ["e", "u", "g"]


def test_component_dependency_follows_the_nested_child():
    plan = synthetic()
    next(r for r in plan if r["name"] == "e")["type"] = "t:m:H"  # e now 3 s: f (38) decides
    m = model(plan, table=TABLE)
    assert m.steps["urn:g"].start == 38
    assert [p.name for p in m.path] == ["a", "b", "d", "f", "g", "u"]
    assert m.total == 38 + 2 + DEFAULT_SECONDS


def test_child_of_a_custom_resource_waits_for_its_creation():
    plan = [res("p", "t:m:B"), res("child", "t:m:C", parent="p")]
    m = model(plan, table=TABLE)
    assert m.steps["urn:child"].start == 20 and m.total == 25


def test_cycle_is_an_error():
    with pytest.raises(PlanCycleError):
        model([res("a", "t:m:A", deps=["b"]), res("b", "t:m:B", pdeps={"x": ["a"]})], table=TABLE)


def test_cli_on_a_plan_file(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(deploy_model, "DURATIONS", TABLE)
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"stack": "synthetic", "resources": synthetic()}))
    assert deploy_model.main([str(plan)]) == 0
    out = capsys.readouterr().out
    assert "Critical path:" in out and "Top contributors" in out
    assert "x:y:Unknown: u" in out
    assert "deploy model (synthetic, first up): 52 s on the longest path: E 40 s" in out


@pytest.fixture(scope="module")
def dev_plan(tmp_path_factory) -> list[dict]:
    out = tmp_path_factory.mktemp("plan") / "plan.json"
    assert deploy_model.build_plan("dev", None, out) == 0
    return json.loads(out.read_text())["resources"]


def test_dev_plan_cluster_runs_beside_the_directory(dev_plan):
    """On the dev plan the longest path is the directory's, and the cluster is not on it: it starts long before
    Managed AD is done (these are the model's figures from the plan, not measured time)."""
    m = model(dev_plan)
    by_type = {s.type: s for s in m.steps.values()}
    cluster, directory = by_type["aws-native:sagemaker:Cluster"], by_type["aws:directoryservice/directory:Directory"]
    types = [s.type for s in m.path]
    assert "aws:directoryservice/directory:Directory" in types
    assert "aws-native:sagemaker:Cluster" not in types
    assert cluster.start < directory.finish
    assert not m.unknown_types
    # the path is contiguous: each step starts when the one before it finishes
    for prev, cur in zip(m.path, m.path[1:], strict=False):
        assert cur.start == prev.finish
    assert m.path[0].start == 0 and m.path[-1].finish == m.total
