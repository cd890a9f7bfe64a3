"""What a change will do to the cluster, before anyone runs `pulumi up`: the plan of the working tree
against the plan of a git ref (its own code and stack file), or the plans of two stacks.

  python -m tools.diff --stack dev --base origin/main   working tree vs. a ref, same stack
  python -m tools.diff --stack dev --other prod          two stacks of the working tree

The report lists the resources added, removed and changed (naming the changed inputs; secret ones are
marked, their values never shown), marks each change that makes the engine replace the resource, then
shows unified diffs of the rendered artifacts (corosync.conf, CIB, targets.conf, node scripts,
failover.md).
"""
from __future__ import annotations

import argparse
import difflib
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.replacements import forces_replacement
from tools.stackfile import ROOT, StackFileError, config_from_yaml, parse_yaml

# Not diffed as text: resources.json is summarised above the artifacts, the picture is binary noise.
NOT_ARTIFACTS = ("resources.json", "topology.svg")


@dataclass(frozen=True)
class ResourceChange:
    type: str
    name: str
    changed_inputs: tuple[str, ...]   # inputs the engine diffs (ignore_changes excluded)
    secret_inputs: tuple[str, ...]    # which of them are secrets
    ignored_inputs: tuple[str, ...]   # changed, but under ignore_changes: not applied
    replacing_inputs: tuple[str, ...]  # the changed inputs that force a replacement
    replaced_dependencies: tuple[str, ...]  # replaced resources whose new outputs it takes

    @property
    def replaced(self) -> bool:
        return bool(self.replacing_inputs)


@dataclass(frozen=True)
class PlanDiff:
    added: tuple[tuple[str, str], ...]    # (type, name)
    removed: tuple[tuple[str, str], ...]
    changed: tuple[ResourceChange, ...]  # resources with changed or ignored-changed inputs
    inputs_known: bool  # False when the old plan predates per-input digests: only whole-resource changes

    @property
    def touched(self) -> set[str]:
        """Names of the resources the engine would update or replace."""
        return {c.name for c in self.changed if c.changed_inputs}

    @property
    def replaced(self) -> set[str]:
        return {c.name for c in self.changed if c.replaced}


def resource_key(record: dict[str, Any], every: list[dict[str, Any]]) -> tuple[str, str]:
    """What the engine knows a resource by: its URN, which holds the types of all its ancestors, so a
    renamed component type or a resource moved to another parent is a delete and a create (unless the code
    gives it `aliases=`). Plans written before URNs were recorded fall back to (type, name).
    Keys are (type, urn-or-name) so the type leads the sort, as in the report."""
    if all("urn" in r for r in every):
        return record["type"], record["urn"]
    return record["type"], record["name"]


def diff_resources(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> PlanDiff:
    """Compare two resources.json lists. A replaced resource gets new outputs (a new id), so every input
    taking them changes too, which may replace that resource in turn: followed until nothing new."""
    old_by_key = {resource_key(r, old + new): r for r in old}
    new_by_key = {resource_key(r, old + new): r for r in new}
    inputs_known = all("inputs" in r for r in old)
    kept = sorted(old_by_key.keys() & new_by_key.keys())

    changed: dict[tuple[str, str], set[str]] = {}
    ignored: dict[tuple[str, str], set[str]] = {}
    for key in kept:
        before, after = old_by_key[key], new_by_key[key]
        ignore = set(after.get("ignore_changes", []))
        if inputs_known:
            names = {n for n in before["inputs"].keys() | after["inputs"].keys()
                     if before["inputs"].get(n) != after["inputs"].get(n)}
        else:
            names = {"(inputs)"} if before["inputs_sha256"] != after["inputs_sha256"] else set()
        changed[key] = names - ignore
        ignored[key] = names & ignore

    replaced_names: set[str] = set()
    via: dict[tuple[str, str], set[str]] = {key: set() for key in kept}
    while True:
        newly = {new_by_key[key]["name"] for key in kept if new_by_key[key]["name"] not in replaced_names
                 and forces_replacement(key[0], changed[key], new_by_key[key].get("ignore_changes", []))}
        if not newly:
            break
        replaced_names |= newly
        for key in kept:
            for input_name, sources in new_by_key[key].get("input_dependencies", {}).items():
                hit = newly.intersection(sources)
                if hit and input_name not in new_by_key[key].get("ignore_changes", []):
                    changed[key].add(input_name)
                    via[key] |= hit

    changes = []
    for key in kept:
        if not changed[key] and not ignored[key]:
            continue
        after = new_by_key[key]
        changes.append(ResourceChange(
            type=key[0], name=after["name"], changed_inputs=tuple(sorted(changed[key])),
            secret_inputs=tuple(sorted(changed[key] & set(after["secret_inputs"]))),
            ignored_inputs=tuple(sorted(ignored[key])),
            replacing_inputs=tuple(forces_replacement(key[0], changed[key], after.get("ignore_changes", []))),
            replaced_dependencies=tuple(sorted(via[key]))))
    return PlanDiff(added=tuple(sorted((k[0], new_by_key[k]["name"]) for k in new_by_key.keys() - old_by_key.keys())),
                    removed=tuple(sorted((k[0], old_by_key[k]["name"]) for k in old_by_key.keys() - new_by_key.keys())),
                    changed=tuple(changes), inputs_known=inputs_known)


def _input_list(change: ResourceChange) -> str:
    return ", ".join(f"{n} (secret)" if n in change.secret_inputs else n for n in change.changed_inputs)


def format_resources(diff: PlanDiff) -> list[str]:
    updated = [c for c in diff.changed if c.changed_inputs and not c.replaced]
    replaced = [c for c in diff.changed if c.replaced]
    lines = [f"{len(diff.added)} to add, {len(updated)} to update in place, {len(replaced)} to REPLACE, "
             f"{len(diff.removed)} to remove"]
    if not diff.inputs_known:
        lines.append("(the old plan predates per-input digests: changed inputs and replacements are not known)")
    moved = set(diff.added) & set(diff.removed)
    lines += [f"  +  {t} {n}" for t, n in diff.added]
    lines += [f"  -  {t} {n}" for t, n in diff.removed]
    lines += [f"  !  {t} {n}: its URN changed (a new parent or an ancestor's type): the engine deletes and "
              "re-creates it; give it `aliases=` to keep it" for t, n in sorted(moved)]
    for c in diff.changed:
        if c.replaced:
            cause = f"{', '.join(c.replacing_inputs)} forces it"
            if c.replaced_dependencies:
                cause += f", after {', '.join(c.replaced_dependencies)} is replaced"
            lines.append(f"  +- {c.type} {c.name}: WOULD BE REPLACED ({cause}); changed: {_input_list(c)}")
        elif c.changed_inputs:
            lines.append(f"  ~  {c.type} {c.name}: changed: {_input_list(c)}")
        if c.ignored_inputs:
            lines.append(f"  !  {c.type} {c.name}: {', '.join(c.ignored_inputs)} differ but are under "
                         "ignore_changes: not applied by `pulumi up`")
    return lines


def artifact_diffs(old_dir: Path, new_dir: Path, old_label: str, new_label: str) -> list[str]:
    def files(root: Path) -> set[str]:
        return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and p.name not in NOT_ARTIFACTS}

    lines: list[str] = []
    for rel in sorted(files(old_dir) | files(new_dir)):
        before = (old_dir / rel).read_text().splitlines(keepends=True) if (old_dir / rel).exists() else []
        after = (new_dir / rel).read_text().splitlines(keepends=True) if (new_dir / rel).exists() else []
        for line in difflib.unified_diff(before, after, f"{old_label}/{rel}", f"{new_label}/{rel}"):
            lines.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return lines


def _version_key(version: str) -> tuple[int, ...]:
    """bluemind.version's order (its grammar is dotted numbers: "5.3.2" < "5.3.10"), as dpkg orders them."""
    return tuple(int(part) for part in version.split("."))


def version_change(old: str | None, new: str | None) -> list[str]:
    """What a change of bluemind.version does: the update chain runs; a lower version is a downgrade, which the
    chain's first step refuses unless the stack allows it."""
    if not old or not new or old == new:
        return []
    try:
        down = _version_key(new) < _version_key(old)
    except ValueError:
        return [f"BlueMind {old} -> {new}"]
    if not down:
        return [f"BlueMind {old} -> {new}: an update (the update chain runs)"]
    return [f"BlueMind {old} -> {new}: a DOWNGRADE. The update chain's first step refuses a version lower than the "
            "release the cluster runs, unless the stack sets bluemind.allow_downgrade: true; apt downgrades the "
            "packages, never BlueMind's database: restore the data first (README, Backups)."]


def stack_version(tree: Path, stack: str) -> str | None:
    """bluemind.version in `tree`'s stack file, or None when it cannot be read (the plans say why)."""
    try:
        config, _ = config_from_yaml(parse_yaml((tree / "stacks" / f"Pulumi.{stack}.yaml").read_text(), stack)
                                     .get("config"), stack)
    except (OSError, StackFileError, AttributeError):
        return None
    bluemind = config.get("bluemind")
    version = bluemind.get("version") if isinstance(bluemind, dict) else None
    return version if isinstance(version, str) else None


def report(old_dir: Path, new_dir: Path, old_label: str, new_label: str,
           versions: tuple[str | None, str | None] = (None, None)) -> str:
    diff = diff_resources(json.loads((old_dir / "resources.json").read_text()),
                          json.loads((new_dir / "resources.json").read_text()))
    artifacts = artifact_diffs(old_dir, new_dir, old_label, new_label)
    head = [f"Plan diff: {old_label} -> {new_label}", ""]
    change = version_change(*versions)
    if change:
        head += change + [""]
    head += ["Resources:"] + format_resources(diff)
    head += ["", "Rendered artifacts:" if artifacts else "Rendered artifacts: identical"]
    return "\n".join(head) + "\n" + "".join(artifacts)


def render_plan(stack: str, out_dir: Path, tree: Path = ROOT) -> None:
    """`python -m tools.plan` of `tree` (its own code and stack file) in a fresh process, as `make plan`."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run([sys.executable, "-m", "tools.plan", stack, str(out_dir)], cwd=tree, env=env,
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"the plan of stack '{stack}' in {tree} failed:\n{result.stderr.strip()}")


def extract_ref(ref: str, into: Path, repo: Path = ROOT) -> None:
    """The tree of `ref` as committed (git archive: no worktree bookkeeping in the shared repository)."""
    archive = subprocess.run(["git", "-C", str(repo), "archive", "--format=tar", ref], capture_output=True)
    if archive.returncode != 0:
        raise RuntimeError(f"git archive {ref}: {archive.stderr.decode().strip()}")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")


def diff_against_ref(stack: str, ref: str, repo: Path = ROOT) -> str:
    with tempfile.TemporaryDirectory(prefix="bluemind-ha-diff-") as tmp:
        base_tree, base_plan, work_plan = Path(tmp, "tree"), Path(tmp, "base"), Path(tmp, "work")
        extract_ref(ref, base_tree, repo)
        render_plan(stack, base_plan, base_tree)
        render_plan(stack, work_plan, repo)
        return report(base_plan, work_plan, f"{ref}:{stack}", f"working-tree:{stack}",
                      (stack_version(base_tree, stack), stack_version(repo, stack)))


def diff_stacks(stack: str, other: str, repo: Path = ROOT) -> str:
    with tempfile.TemporaryDirectory(prefix="bluemind-ha-diff-") as tmp:
        a, b = Path(tmp, stack), Path(tmp, other)
        render_plan(stack, a, repo)
        render_plan(other, b, repo)
        return report(a, b, stack, other, (stack_version(repo, stack), stack_version(repo, other)))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.diff", description=__doc__.splitlines()[0])
    parser.add_argument("--stack", required=True)
    against = parser.add_mutually_exclusive_group(required=True)
    against.add_argument("--base", help="a git ref: its plan of the same stack, by its own code")
    against.add_argument("--other", help="another stack of the working tree")
    args = parser.parse_args(argv)
    try:
        text = diff_against_ref(args.stack, args.base) if args.base else diff_stacks(args.stack, args.other)
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 2
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
