"""`scripts/preview` on EKS and team config mistakes: exit 2, naming the key (and for quotas the teams and
totals), before any resource; the shipped EKS stack exits 0 under the production policy config."""

import pytest
import yaml

from tests.conftest import ROOT
from tools import preview

STACK = ROOT / "Pulumi.eks-dev.yaml"
P = "hyperpod-platform:"


def _variant(tmp_path, change) -> str:
    doc = yaml.safe_load(STACK.read_text())
    change(doc["config"])
    path = tmp_path / "Pulumi.variant.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return str(path)


def _team(cfg, name):
    return next(t for t in cfg[P + "teams"] if t["name"] == name)


def _on_slurm(cfg):
    dev = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]
    teams = cfg[P + "teams"]
    cfg.clear()
    cfg.update(dev)
    cfg[P + "teams"] = teams


CASES = {
    "kubernetes 1.20": (lambda c: c[P + "eks"].update(kubernetesVersion="1.20"), ["eks.kubernetesVersion", "1.28"]),
    "public endpoint open to the world": (
        lambda c: c[P + "eks"].update(endpointPublicAccess=True, publicAccessCidrs=["0.0.0.0/0"]),
        ["eks.publicAccessCidrs", "open to the world"],
    ),
    "deploy from the VPN without a VPN": (
        lambda c: (c[P + "eks"].update(deployFrom="vpn"), c[P + "eks"].pop("publicAccessCidrs"), c.pop(P + "vpn")),
        ["eks.deployFrom", "vpn.enabled"],
    ),
    "deploy from a private network without its ranges": (
        lambda c: (c[P + "eks"].update(deployFrom="private"), c[P + "eks"].pop("publicAccessCidrs")),
        ["eks.privateAccessCidrs", "required"],
    ),
    "misspelt helm value": (
        lambda c: c[P + "eks"]["helmValues"].update(mlfow={"enabled": False}),
        ["eks.helmValues.mlfow", "mlflow"],
    ),
    "overbooked quotas": (
        lambda c: _team(c, "vision")["quota"][0].update(count=2),
        ["hyperpod-platform:teams", "research 1 + vision 2", "the cluster has 2"],
    ),
    "upper-case team name": (lambda c: _team(c, "vision").update(name="Vision"), ["teams[1].name", "'vision'"]),
    "teams on a Slurm stack": (_on_slurm, ["hyperpod-platform:teams", "EKS-orchestrated"]),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_eks_and_team_mistakes_exit_2_naming_the_key(tmp_path, capsys, case):
    change, words = CASES[case]
    code = preview.main(["--config-file", _variant(tmp_path, change), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert all(w in err for w in words), (words, err)


def test_shipped_eks_stack_passes_the_production_policy_config():
    assert (
        preview.main(["--stack", "eks-dev", "--quiet", "--policy-config", str(ROOT / "policies/config/prod.json")]) == 0
    )


def test_a_wildcard_data_prefix_exits_2_naming_the_key_before_any_resource(tmp_path):
    """The issue's cross-team hole: ``teams[0].data.prefix: "*"`` in the eks-dev stack would grant
    ``object/*/*`` (every team's objects in a shared bucket); `scripts/preview` refuses it as a config error,
    exit 2, naming the key, the value and the fix, and registers nothing."""
    import subprocess

    variant = _variant(tmp_path, lambda c: _team(c, "research")["data"].update(prefix="*"))
    proc = subprocess.run(
        [str(ROOT / "scripts" / "preview"), "--config-file", variant],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    problems = [ln for ln in proc.stderr.splitlines() if ln.startswith("  - ")]
    assert len(problems) == 1, proc.stderr
    assert problems[0].startswith('  - hyperpod-platform:teams[0].data.prefix = "*": '), problems
    assert "not an S3 key prefix" in problems[0] and ". Fix: " in problems[0], problems
    assert "aws:s3control" not in proc.stdout and "accessPointPolicy" not in proc.stdout
