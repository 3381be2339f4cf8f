"""Every primitive the pinned JAX registers is claimed by a pack, out of scope with a reason, or a
known gap with a reason (scripts/primitives-out-of-scope.json). A JAX upgrade that adds primitives
makes scripts/jax-primitives.json stale, and a new primitive in none of the groups fails here."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIST = ROOT / "scripts" / "jax-primitives.json"


def _claimed(cli) -> set[str]:
    out = subprocess.run([cli, "--coverage", "--format", "json"], check=True, capture_output=True, text=True).stdout
    return {p["primitive"] for p in json.loads(out)["primitives"]}


def _entries() -> list[dict]:
    return json.loads(LIST.read_text())["primitives"]


def test_list_matches_the_installed_jax():
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "jax-primitives.py"), "--check"],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr or proc.stdout


def test_every_registered_primitive_is_claimed_or_explained(cli):
    claimed = _claimed(cli)
    unexplained = sorted(e["primitive"] for e in _entries()
                         if e["primitive"] not in claimed and "out_of_scope" not in e and "missing" not in e)
    assert not unexplained, f"registered by JAX, claimed by no pack and in no group of primitives-out-of-scope.json: {unexplained}"


def test_out_of_scope_primitives_are_not_claimed(cli):
    claimed = _claimed(cli)
    both = sorted(e["primitive"] for e in _entries() if "out_of_scope" in e and e["primitive"] in claimed)
    assert not both, f"claimed by a pack yet listed out of scope: {both}"


def test_known_missing_primitives_are_not_claimed(cli):
    """A primitive a pack lowers leaves the known-missing group, so the group lists exactly the gaps."""
    claimed = _claimed(cli)
    stale = sorted(e["primitive"] for e in _entries() if "missing" in e and e["primitive"] in claimed)
    assert not stale, f"claimed by a pack yet listed as known missing: {stale}"


def test_coverage_page_counts_the_three_groups(cli):
    page = subprocess.run([cli, "--coverage", "--format", "markdown", "--jax-primitives", str(LIST)],
                          check=True, capture_output=True, text=True).stdout
    claimed = _claimed(cli)
    entries = _entries()
    n_claimed = sum(e["primitive"] in claimed for e in entries)
    n_out = sum("out_of_scope" in e and e["primitive"] not in claimed for e in entries)
    n_missing = len(entries) - n_claimed - n_out
    assert f"| {n_claimed} | {n_out} | {n_missing} |" in page
    for e in entries:
        if "out_of_scope" in e:
            assert e["out_of_scope"] in page
