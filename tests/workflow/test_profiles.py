"""The execution profiles: both lint clean, and the SLURM profile gives every rule that SLURM runs
its resources, a GPU to exactly the rules tagged `gpu=1`, and no partition or account."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "workflow" / "rules"
SLURM_PROFILE = REPO / "workflow" / "profiles" / "slurm" / "config.yaml"


def _blocks() -> list[str]:
    """The text of every rule of workflow/rules, one block each."""
    return [
        block
        for smk in sorted(RULES.glob("*.smk"))
        for block in re.split(r"^(?=\s*(?:rule \w+:|use rule \w+ as \w+ with:))", smk.read_text(), flags=re.MULTILINE)
    ]


def _rules() -> dict[str, bool]:
    """Every rule of workflow/rules -> whether it carries `gpu=1` (a `use rule` inherits it)."""
    tagged: dict[str, bool] = {}
    for block in _blocks():
        if match := re.match(r"\s*rule (\w+):", block):
            tagged[match.group(1)] = "gpu=1" in block
        elif match := re.match(r"\s*use rule (\w+) as (\w+) with:", block):
            tagged[match.group(2)] = tagged[match.group(1)] or "gpu=1" in block
    return tagged


def _local_rules() -> set[str]:
    """The Snakefile's `localrules:` list and the rules that say `localrule: True` themselves."""
    text = (REPO / "workflow" / "Snakefile").read_text()
    block = re.search(r"^localrules:\n((?:    \w+,\n)+)", text, re.MULTILINE).group(1)
    marked = {
        match.group(1)
        for block in _blocks()
        if (match := re.match(r"\s*rule (\w+):", block)) and "localrule: True" in block
    }
    return set(re.findall(r"(\w+),", block)) | marked


def test_the_slurm_profile_covers_every_remote_rule_and_tags_exactly_the_gpu_rules():
    rules, local = _rules(), _local_rules()
    profile = yaml.safe_load(SLURM_PROFILE.read_text())
    resources = profile["set-resources"]
    assert local <= set(rules) | {"all"} and set(resources) <= set(rules)
    assert set(resources) == set(rules) - local  # each rule runs locally or has its SLURM request
    gpu_rules = {rule for rule, gpu in rules.items() if gpu}
    assert gpu_rules and {rule for rule in resources if resources[rule] == resources["train_base"]} == gpu_rules
    assert not gpu_rules & local
    assert all({"runtime", "mem_mb"} <= set(request) for request in resources.values())
    # site settings come from the command line or the user's copy, never from the workflow
    assert "slurm_partition" not in str(profile) and "slurm_account" not in str(profile)
    assert profile["executor"] == "slurm" and profile["retries"] >= 1 and profile["slurm-status-command"] == "squeue"


@pytest.mark.parametrize("profile", ["default", "slurm"])
def test_lint_is_clean_under_each_profile(profile: str):
    command = [sys.executable, "-m", "snakemake", "--workflow-profile", f"workflow/profiles/{profile}", "--lint"]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Congratulations, your workflow is in a good condition" in result.stdout + result.stderr
