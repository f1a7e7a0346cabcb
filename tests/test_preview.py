"""scripts/preview end to end: the offline preview as users run it."""

from __future__ import annotations

import json
import subprocess

import hyperpod_platform.checks
from tests.conftest import ROOT, config_from_stack_file
from tools import preview
from tools.harness import run_program


def _preview(*args, cwd=ROOT):
    return subprocess.run(
        [str(ROOT / "scripts" / "preview"), *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def test_dev_preview_lists_the_platform(tmp_path):
    """`scripts/preview --stack dev` exits 0 and shows network, FSx, bucket, role and cluster; the JSON plan
    has dependencies and inputs; the Mermaid diagram has every component."""
    plan_file, diagram = tmp_path / "plan.json", tmp_path / "arch.mmd"
    proc = _preview("--stack", "dev", "--json", str(plan_file), "--mermaid", str(diagram))
    assert proc.returncode == 0, proc.stderr
    for needle in (
        "aws:ec2/vpc:Vpc  hp-dev-vpc",
        "aws:ec2/subnet:Subnet  hp-dev-private-0",
        "aws:fsx/lustreFileSystem:LustreFileSystem  hp-dev-lustre [protected]",
        "aws:s3/bucket:Bucket  hp-dev-bucket",
        "aws:iam/role:Role  hp-dev-role",
        "aws-native:sagemaker:Cluster  hp-dev-cluster",
        "Resources by type:",
        "1 aws-native resource(s) valid",
    ):
        assert needle in proc.stdout, needle
    plan = json.loads(plan_file.read_text())
    cluster = next(r for r in plan["resources"] if r["type"] == "aws-native:sagemaker:Cluster")
    assert cluster["parent"].endswith("hyperpod-platform:index:HyperPodCluster::hp-dev")
    assert cluster["dependencies"] and "vpcConfig" in cluster["propertyDependencies"]
    assert cluster["inputs"]["nodeRecovery"] == "Automatic"
    text = diagram.read_text()
    assert text.startswith("flowchart LR")
    for component in ("Network", "Fsx", "LifecycleBucket", "ExecutionRole", "HyperPodCluster"):
        assert f'["{component}<br/>hp-dev"]' in text
    assert " --> " in text


def test_underscore_group_name_exits_2_naming_the_key(tmp_path):
    """A `worker_group` instance group name exits 2 and names the key path."""
    cfg = (ROOT / "Pulumi.dev.yaml").read_text().replace("name: gpu", "name: worker_group")
    (tmp_path / "bad.yaml").write_text(cfg)
    proc = _preview("--config-file", str(tmp_path / "bad.yaml"))
    assert proc.returncode == 2
    assert 'hyperpod-platform:cluster.instanceGroups[2].name = "worker_group"' in proc.stderr


def test_three_mistakes_exit_2_and_all_listed(tmp_path):
    """A config file with three different mistakes lists all three in one run."""
    cfg = (ROOT / "Pulumi.dev.yaml").read_text()
    cfg = cfg.replace("name: gpu", "name: worker_group").replace("throughputPerTiB: 250", "throughputPerTiB: 300")
    cfg = cfg.replace("availabilityZones: [us-east-1a, us-east-1b]", "availabilityZones: [us-east-1a, eu-west-1b]")
    (tmp_path / "bad.yaml").write_text(cfg)
    proc = _preview("--config-file", str(tmp_path / "bad.yaml"))
    assert proc.returncode == 2
    assert "(3 problem(s))" in proc.stderr
    for key in ("cluster.instanceGroups[2].name", "fsx.throughputPerTiB", "network.availabilityZones[1]"):
        assert f"hyperpod-platform:{key} =" in proc.stderr


def test_missing_stack_file_exits_2():
    """An unknown stack name is a config error, not a crash."""
    proc = _preview("--stack", "nosuch")
    assert proc.returncode == 2 and "Pulumi.nosuch.yaml does not exist" in proc.stderr


def test_schema_violation_exits_3(tmp_path, monkeypatch, capsys):
    """With the config check loosened, the schema check alone still stops a bad group name: exit 3."""
    # The config layer and the component both check names with hyperpod_platform.checks: loosen the one rule.
    monkeypatch.setattr(hyperpod_platform.checks, "NAME_RE", __import__("re").compile(r".+"))
    cfg = (ROOT / "Pulumi.dev.yaml").read_text().replace("name: login", "name: login_group")
    (tmp_path / "bad.yaml").write_text(cfg)
    assert preview.main(["--config-file", str(tmp_path / "bad.yaml"), "--quiet"]) == 3
    err = capsys.readouterr().err
    assert "InstanceGroups/1/InstanceGroupName" in err and "login_group" in err


def test_plan_redacts_secrets(tmp_path):
    """Secret inputs never reach the JSON plan: they are replaced by a marker."""
    import pulumi
    import pulumi_aws as aws

    from tools.harness import run_program

    def program():
        aws.secretsmanager.SecretVersion("s", secret_id="x", secret_string=pulumi.Output.secret("hunter2-value"))

    result = run_program(program, {"aws:region": "us-east-1"}, preview=False)
    plan = json.dumps(preview.plan_of(result))
    assert "hunter2-value" not in plan and '"secretString": "<secret>"' in plan


def test_readme_diagram_is_the_generated_one(tmp_path):
    """The README's architecture diagram is exactly what `--mermaid-components` generates for the dev stack: one
    node per component with its role, collapsed component edges; `--mermaid` still writes the resource diagram."""
    out, resources = tmp_path / "components.mmd", tmp_path / "resources.mmd"
    assert (
        preview.main(["--stack", "dev", "--quiet", "--mermaid-components", str(out), "--mermaid", str(resources)]) == 0
    )
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Architecture\n", 1)[1].split("\n## ", 1)[0]
    block = section.split("```mermaid\n", 1)[1].split("```", 1)[0]
    assert block == out.read_text(), (
        "README diagram is stale: regenerate with scripts/preview --stack dev --mermaid-components OUT"
    )
    text = out.read_text()
    for component in ("Network", "Fsx", "Directory", "LdapsEndpoint", "HyperPodCluster", "LoginAccess"):
        assert f'  {component}["<b>{component}</b><br/>' in text, component
    assert "  Network --> HyperPodCluster" in text and "  Directory --> ExecutionRole" in text
    assert "-.->" not in text  # every link between components travels with a value (no wait-only edge)
    assert "<br/>A VPC (created or existing)" in text  # the role: the class docstring's first line
    assert 10 <= text.count('["') <= 30 and text.count('["') < resources.read_text().count('["')


def test_component_diagram_collapses_resource_edges():
    """Resource dependencies become one edge per pair of components: nested resources belong to their nearest
    component, edges inside a component vanish, a dependsOn-only link is dotted, the output is sorted."""
    comp = "hyperpod-platform:index:"

    def res(urn, typ, parent=None, deps=(), props=None, custom=True):
        return {
            "urn": urn,
            "type": typ,
            "name": "x",
            "parent": parent,
            "custom": custom,
            "read": False,
            "dependencies": list(deps),
            "propertyDependencies": props or {},
        }

    plan = [
        res("B", comp + "Beta", custom=False),
        res("A", comp + "Alpha", custom=False),
        res("a1", "aws:x:Y", "A"),
        res("a2", "aws:x:Y", "A", deps=["a1"], props={"p": ["a1"]}),
        res("g", "my:group:Inner", "B", custom=False),  # not a platform component: its resources belong to B
        res("b1", "aws:x:Y", "g", deps=["a1", "a2"], props={"p": ["a1"]}),
        res("b2", "aws:x:Y", "B", deps=["a2"]),
        res("c1", "aws:x:Y", "C", deps=["b1"]),  # outside any component: no node, no edge
    ]
    expected = (
        "\n".join(
            [
                "flowchart LR",
                '  Alpha["<b>Alpha</b><br/>First #quot;letter#quot; #lt;a#gt;"]',
                '  Beta["<b>Beta</b>"]',
                "  Alpha --> Beta",
            ]
        )
        + "\n"
    )
    assert preview.mermaid_components_of(plan, {"Alpha": 'First "letter" <a>'}) == expected
    assert preview.mermaid_components_of(list(reversed(plan)), {"Alpha": 'First "letter" <a>'}) == expected
    plan[5]["propertyDependencies"] = {}
    assert preview.mermaid_components_of(plan).endswith("  Alpha -.-> Beta\n")


def test_dev_preview_shows_login_access_and_passes_guardrails():
    """`scripts/preview --stack dev` shows the login NLB, target group, listener, VPN endpoint and the
    secrets, and no mandatory guardrail fails (exit 0), also with every rule mandatory."""
    for extra in ([], ["--policy-config", "policies/config/prod.json"]):
        proc = _preview("--stack", "dev", *extra)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        for needle in (
            "aws:lb/loadBalancer:LoadBalancer  hp-dev-login",
            "aws:lb/targetGroup:TargetGroup  hp-dev-login",
            "aws:lb/listener:Listener  hp-dev-login-ssh",
            "aws:lb/targetGroupAttachment:TargetGroupAttachment  hp-dev-login-0",
            "aws:ec2clientvpn/endpoint:Endpoint  hp-dev-vpn",
            "aws:secretsmanager/secret:Secret  hp-dev-host-keys",
            "aws:secretsmanager/secretVersion:SecretVersion  hp-dev-host-keys",
        ):
            assert needle in proc.stdout, needle
        assert "0 mandatory" in proc.stdout


def test_dev_preview_shows_the_directory_and_passes_guardrails():
    """`scripts/preview --stack dev` (directory on) shows the directory, the LDAPS NLB with its one TLS
    listener, the directory contents and the connection parameter, and no mandatory guardrail fails, also with
    every rule mandatory."""
    for extra in ([], ["--policy-config", "policies/config/prod.json"]):
        proc = _preview("--stack", "dev", *extra)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        for needle in (
            "aws:directoryservice/directory:Directory  hp-dev-directory [protected]",
            "aws:secretsmanager/secret:Secret  hp-dev-directory-admin [protected]",
            "aws:secretsmanager/secret:Secret  hp-dev-ldap-bind",
            "aws:lb/loadBalancer:LoadBalancer  hp-dev-ldaps",
            "aws:lb/listener:Listener  hp-dev-ldaps",
            "aws:lb/targetGroupAttachment:TargetGroupAttachment  hp-dev-ldap-dc-1",
            "aws:acm/certificate:Certificate  hp-dev-ldaps",
            "pulumi-python:dynamic:Resource  hp-dev-directory-contents [protected]",
            "aws:ssm/parameter:Parameter  hp-dev-directory-connection",
        ):
            assert needle in proc.stdout, needle
        assert "hp-dev-ldap-plaintext" not in proc.stdout
        assert "0 mandatory" in proc.stdout


def test_plaintext_ldap_listener_fails_the_guardrails(tmp_path):
    """Asking for the plaintext 389 listener works, but the pack refuses it (exit 1): the listener and the
    389 ingress on the directory NLB are both mandatory violations."""
    cfg = (
        (ROOT / "Pulumi.dev.yaml")
        .read_text()
        .replace("    shortName: HPDEV\n", "    shortName: HPDEV\n    ldaps:\n      plaintextListener: true\n")
    )
    assert "plaintextListener: true" in cfg
    (tmp_path / "Pulumi.plain.yaml").write_text(cfg)
    proc = _preview("--config-file", str(tmp_path / "Pulumi.plain.yaml"))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "aws:lb/listener:Listener  hp-dev-ldap-plaintext" in proc.stdout
    out = proc.stdout + proc.stderr
    assert "no-plaintext-ldap" in out and "port 389 (plaintext LDAP)" in out
    assert "nlb-ssh-only-security-groups" in out and "admits only TCP 636" in out


def dependency_closure(plan: list[dict], urn: str) -> set[str]:
    """Every resource ``urn`` waits for, transitively: dependencies and property dependencies, a component
    standing for all of its descendants."""
    by_urn = {r["urn"]: r for r in plan}
    children: dict[str, list[str]] = {}
    for r in plan:
        children.setdefault(r["parent"], []).append(r["urn"])
    seen: set[str] = set()
    todo = [urn]
    while todo:
        res = by_urn[todo.pop()]
        edges = [*res["dependencies"], *(u for v in res["propertyDependencies"].values() for u in v)]
        if not res["custom"]:
            edges += children.get(res["urn"], [])
        for u in edges:
            if u not in seen and u in by_urn:
                seen.add(u)
                todo.append(u)
    return seen


def test_dependency_closure_follows_components_and_property_dependencies():
    r = lambda name, deps=(), pdeps=(), parent=None, custom=True: {  # noqa: E731
        "urn": name,
        "type": "t",
        "parent": parent,
        "custom": custom,
        "dependencies": list(deps),
        "propertyDependencies": {"p": list(pdeps)} if pdeps else {},
    }
    plan = [
        r("a"),
        r("b", pdeps=["a"]),
        r("k", custom=False),
        r("c", deps=["b"], parent="k"),
        r("k2", custom=False, parent="k"),
        r("d", parent="k2"),
        r("x", deps=["k"]),
        r("lone"),
    ]
    assert dependency_closure(plan, "x") == {"k", "c", "k2", "d", "b", "a"}


def test_cluster_does_not_wait_for_the_directory():
    """Issue 9: in the dev plan the HyperPod cluster depends (transitively, components expanded) on no
    Managed AD directory, no DirectoryContents resource and nothing of the LdapsEndpoint; it does depend on
    the lifecycle objects, the execution role's policies and the bind secret's value (created in seconds)."""
    result = run_program(ROOT / "__main__.py", config_from_stack_file(ROOT / "Pulumi.dev.yaml"), preview=True)
    assert result.error is None, result.error
    plan = preview.plan_of(result)
    by_urn = {r["urn"]: r for r in plan}
    (cluster,) = [r for r in plan if r["type"] == "aws-native:sagemaker:Cluster"]
    closure = [by_urn[u] for u in dependency_closure(plan, cluster["urn"])]
    (ldaps,) = [r["urn"] for r in plan if r["type"] == "hyperpod-platform:index:LdapsEndpoint"]

    def inside(r: dict, ancestor: str) -> bool:
        while r["parent"] in by_urn:
            if r["parent"] == ancestor:
                return True
            r = by_urn[r["parent"]]
        return False

    assert [r for r in plan if r["type"] == "aws:directoryservice/directory:Directory"]  # the directory is planned
    forbidden = [
        r["name"]
        for r in closure
        if r["type"]
        in (
            "aws:directoryservice/directory:Directory",
            "hyperpod-platform:index:DirectoryContents",
            "hyperpod-platform:index:LdapsEndpoint",
            "hyperpod-platform:index:DirectoryConnection",
            "aws:ssm/parameter:Parameter",
        )
        or (r["type"] == "pulumi-python:dynamic:Resource" and r["name"].endswith("directory-contents"))
        or inside(r, ldaps)
    ]
    assert forbidden == []
    names = {(r["type"], r["name"]) for r in closure}
    objects = {r["name"] for r in plan if r["type"] == "aws:s3/bucketObjectv2:BucketObjectv2"}
    assert objects and objects <= {n for t, n in names if t == "aws:s3/bucketObjectv2:BucketObjectv2"}
    for wanted in [
        ("aws:s3/bucketObjectv2:BucketObjectv2", "hp-dev-generated-platform.json"),
        ("aws:iam/role:Role", "hp-dev-role"),
        ("aws:iam/rolePolicy:RolePolicy", "hp-dev-vpc-and-lifecycle"),
        ("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "hp-dev-managed"),
        ("aws:secretsmanager/secretVersion:SecretVersion", "hp-dev-ldap-bind"),
    ]:
        assert wanted in names, wanted


def test_two_json_runs_of_the_same_stack_are_byte_identical(tmp_path):
    """Registration order follows the event loop (and hash seeds): the --json plan is sorted by URN, its
    dependencies and every mapping's keys too, so two runs write the same bytes."""
    import os

    outs = []
    for seed in ("1", "2"):
        out = tmp_path / f"plan-{seed}.json"
        proc = subprocess.run(
            [str(ROOT / "scripts" / "preview"), "--stack", "dev", "--no-policy", "--quiet", "--json", str(out)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        assert proc.returncode == 0, proc.stderr
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    urns = [r["urn"] for r in json.loads(outs[0])["resources"]]
    assert urns == sorted(urns) and len(urns) > 100


def test_json_plan_does_not_depend_on_registration_or_dependency_order(dev_run):
    """The same registrations in another order, with their dependency lists and input keys shuffled, give the
    same --json text."""
    import dataclasses
    import random

    def shuffled(reg):
        rng = random.Random(reg.urn)
        deps = list(reg.dependencies)
        rng.shuffle(deps)
        props = {k: list(reversed(v)) for k, v in reversed(list(reg.property_dependencies.items()))}
        inputs = dict(reversed(list(reg.inputs.items())))
        return dataclasses.replace(reg, dependencies=deps, property_dependencies=props, inputs=inputs)

    other = dataclasses.replace(dev_run, registrations=[shuffled(r) for r in reversed(dev_run.registrations)])
    first = preview.plan_json("dev", preview.plan_of(dev_run), dev_run.outputs)
    assert preview.plan_json("dev", preview.plan_of(other), dict(reversed(list(dev_run.outputs.items())))) == first
    plan = json.loads(first)["resources"]
    assert all(r["dependencies"] == sorted(r["dependencies"]) for r in plan)
    assert any(len(r["dependencies"]) > 1 for r in plan)
