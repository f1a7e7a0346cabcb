"""scripts/fetch-chart: copies (--from) or clones the pinned commit, removes the stale duplicate sub-chart
archive, records the commit, changes nothing on a second run, and refuses a wrong source clearly."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from hyperpod_platform import hyperpod_chart
from tests import chart_support
from tests.conftest import ROOT

SCRIPT = ROOT / "scripts" / "fetch-chart"
STALE = "health-monitoring-agent-0.1.0.tgz"


def fetch(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args], capture_output=True, text=True, env={**os.environ, **(env or {})}, check=False
    )


def tree(root: Path) -> dict[str, tuple[int, int, int]]:
    """Every path under ``root`` with its mtime (ns), size and mode: equal trees were not touched."""
    return {
        str(path.relative_to(root)): (path.lstat().st_mtime_ns, path.lstat().st_size, path.lstat().st_mode)
        for path in sorted([root, *root.rglob("*")])
    }


def upstream_like(dest: Path) -> Path:
    """A source laid out as ../shared/charts/sagemaker-hyperpod-cli-011ca92 (helm_chart/, COMMIT, LICENSE) with
    the stale archive upstream ships beside charts/health-monitoring-agent/, built from the fetched chart so
    the test needs nothing outside the project."""
    fetched = chart_support.chart_dir()
    chart = dest / "helm_chart" / "HyperPodHelmChart"
    shutil.copytree(fetched, chart)
    with tarfile.open(chart / "charts" / STALE, "w:gz") as archive:
        archive.add(chart / "charts" / "health-monitoring-agent", arcname="health-monitoring-agent")
    (dest / "COMMIT").write_text(f"{hyperpod_chart.CHART_COMMIT} 2026-06-22T10:04:33-07:00")
    shutil.copy(fetched.parent / "LICENSE", dest / "LICENSE")
    return dest


def test_pins_match_the_package():
    text = SCRIPT.read_text()
    assert re.search(r'CHART_REPO="\$\{HYPERPOD_CHART_REPO:-([^}]+)\}"', text)[1] == hyperpod_chart.CHART_REPO
    assert re.search(r'CHART_COMMIT="\$\{HYPERPOD_CHART_COMMIT:-([^}]+)\}"', text)[1] == hyperpod_chart.CHART_COMMIT
    assert f'CHART_SUBDIR="{hyperpod_chart.CHART_SUBDIR}"' in text


def test_shellcheck_clean():
    done = subprocess.run(["shellcheck", str(SCRIPT)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout


def test_copy_removes_the_stale_archive_records_the_commit_and_is_idempotent(tmp_path):
    source = upstream_like(tmp_path / "source")
    assert (source / "helm_chart" / "HyperPodHelmChart" / "charts" / STALE).is_file()
    dest = tmp_path / "out" / "hyperpod"

    first = fetch("--from", str(source), "--dest", str(dest))
    assert first.returncode == 0, first.stderr
    chart = dest / "HyperPodHelmChart"
    assert not (chart / "charts" / STALE).exists()
    assert (chart / "charts" / "health-monitoring-agent" / "Chart.yaml").is_file()
    assert (dest / "COMMIT").read_text() == hyperpod_chart.CHART_COMMIT + "\n"
    assert (dest / "LICENSE").is_file()
    assert hyperpod_chart.fetched_commit(chart) == hyperpod_chart.CHART_COMMIT
    assert hyperpod_chart.chart_dir_problems(chart) == []
    # the rest of the chart is the source's, file for file
    left = {p.relative_to(source / "helm_chart" / "HyperPodHelmChart") for p in source.rglob("HyperPodHelmChart/**/*")}
    assert left - {p.relative_to(chart) for p in chart.rglob("*")} == {Path("charts") / STALE}

    before = tree(dest)
    second = fetch("--from", str(source), "--dest", str(dest))
    assert second.returncode == 0, second.stderr
    assert "up to date" in second.stdout
    assert tree(dest) == before  # same files, same mtimes: nothing rewritten
    assert not list(dest.parent.glob(".fetch-chart.*"))  # no staging left behind


def test_the_helm_chart_directory_or_the_chart_itself_are_sources_too(tmp_path):
    source = upstream_like(tmp_path / "source")
    for i, given in enumerate([source / "helm_chart", source / "helm_chart" / "HyperPodHelmChart"]):
        done = fetch("--from", str(given), "--dest", str(tmp_path / f"out{i}"))
        assert done.returncode == 0, done.stderr
        assert (tmp_path / f"out{i}" / "COMMIT").read_text().strip() == hyperpod_chart.CHART_COMMIT


def test_a_changed_source_replaces_the_copy(tmp_path):
    source = upstream_like(tmp_path / "source")
    dest = tmp_path / "out"
    assert fetch("--from", str(source), "--dest", str(dest)).returncode == 0
    (dest / "HyperPodHelmChart" / "values.yaml").write_text("edited: true\n")  # a local edit is undone
    done = fetch("--from", str(source), "--dest", str(dest))
    assert done.returncode == 0, done.stderr
    assert (dest / "HyperPodHelmChart" / "values.yaml").read_text() == (
        source / "helm_chart" / "HyperPodHelmChart" / "values.yaml"
    ).read_text()


def missing(tmp: Path) -> Path:
    return tmp / "nothing-here"


def empty(tmp: Path) -> Path:
    (tmp / "empty").mkdir()
    return tmp / "empty"


def other_commit(tmp: Path) -> Path:
    source = upstream_like(tmp / "src")
    (source / "COMMIT").write_text("0123abc 2020-01-01\n")
    return source


def no_commit(tmp: Path) -> Path:
    source = upstream_like(tmp / "src")
    (source / "COMMIT").unlink()
    return source


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (missing, "no such directory"),
        (empty, "no HyperPod Helm chart there"),
        (other_commit, f"it is commit 0123abc, the pinned commit is {hyperpod_chart.CHART_COMMIT}"),
        (no_commit, "cannot tell which commit"),
    ],
)
def test_a_wrong_source_fails_with_a_clear_message(tmp_path, make, message):
    source = make(tmp_path)
    dest = tmp_path / "out"
    done = fetch("--from", str(source), "--dest", str(dest))
    assert done.returncode == 1
    assert message in done.stderr and done.stderr.startswith("fetch-chart: ")
    assert not dest.exists()  # nothing half-made


def test_unknown_argument_is_refused():
    done = fetch("--form", "x")
    assert done.returncode == 1 and "unknown argument '--form'" in done.stderr


def git(*args: str, cwd: Path) -> str:
    identity = ["-c", "user.name=test", "-c", "user.email=test@example.invalid", "-c", "init.defaultBranch=main"]
    return subprocess.run(["git", *identity, *args], cwd=cwd, capture_output=True, text=True, check=True).stdout


def test_clone_path_checks_out_the_pinned_commit(tmp_path):
    """The clone path against a local repository (the tests have no network): the pin is overridden to that
    repository's commit through the variables the script reads, as a mirror would be."""
    repo = upstream_like(tmp_path / "repo")
    git("init", "-q", cwd=repo)
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "chart", cwd=repo)
    pinned = git("rev-parse", "HEAD", cwd=repo).strip()
    (repo / "helm_chart" / "HyperPodHelmChart" / "values.yaml").write_text("later: true\n")
    git("commit", "-q", "-am", "a later commit", cwd=repo)  # the pin is not the tip
    env = {"HYPERPOD_CHART_REPO": f"file://{repo}", "HYPERPOD_CHART_COMMIT": pinned}
    dest = tmp_path / "out"

    done = fetch("--dest", str(dest), env=env)
    assert done.returncode == 0, done.stderr
    chart = dest / "HyperPodHelmChart"
    assert (dest / "COMMIT").read_text() == pinned + "\n"
    assert not (chart / "charts" / STALE).exists()
    assert "later" not in (chart / "values.yaml").read_text()
    assert not (chart / ".git").exists() and (dest / "LICENSE").is_file()
    # the program reports a chart from another commit than the package's pin
    assert any("not the pinned" in p for p in hyperpod_chart.chart_dir_problems(chart))

    before = tree(dest)
    again = fetch("--dest", str(dest), env=env)
    assert again.returncode == 0 and "already at" in again.stdout
    forced = fetch("--dest", str(dest), "--force", env=env)
    assert forced.returncode == 0 and "up to date" in forced.stdout, forced.stderr
    assert tree(dest) == before

    missing = fetch("--dest", str(tmp_path / "none"), env={**env, "HYPERPOD_CHART_COMMIT": "f" * 40})
    assert missing.returncode == 1 and "has no commit " + "f" * 40 in missing.stderr


def test_a_checkout_is_a_source_at_its_head_and_local_changes_are_refused(tmp_path):
    repo = upstream_like(tmp_path / "repo")
    (repo / "COMMIT").unlink()  # the commit comes from git
    git("init", "-q", cwd=repo)
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "chart", cwd=repo)
    head = git("rev-parse", "HEAD", cwd=repo).strip()
    done = fetch("--from", str(repo), "--dest", str(tmp_path / "a"))
    assert done.returncode == 1 and f"it is commit {head}" in done.stderr  # not the pinned commit
    ok = fetch("--from", str(repo), "--dest", str(tmp_path / "b"), env={"HYPERPOD_CHART_COMMIT": head})
    assert ok.returncode == 0, ok.stderr
    (repo / "helm_chart" / "HyperPodHelmChart" / "values.yaml").write_text("edited: true\n")
    dirty = fetch("--from", str(repo), "--dest", str(tmp_path / "c"), env={"HYPERPOD_CHART_COMMIT": head})
    assert dirty.returncode == 1 and "local changes" in dirty.stderr
