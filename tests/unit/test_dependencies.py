"""One dependency truth: pyproject.toml's ranges, the locks' exact versions, the conda env file, the venv.

requirements-dev.lock (what `make setup` installs) and requirements.lock (what envs/mtaal.yaml installs) are
written by `make lock` (tools/lock.py) from pyproject.toml; these tests fail when one of them is edited
without the others. The conda dry run needs conda and skips, saying so, where there is none.
"""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import re
import shutil
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.workflow_helpers import copy_workflow, snakemake

REPO = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
ENV_FILE = REPO / "envs" / "mtaal.yaml"
TORCH_CPU_INDEX = "--extra-index-url https://download.pytorch.org/whl/cpu"


def lock_pins(name: str) -> dict[str, str]:
    """``{canonical name: version}`` of a lock; every requirement line must be an exact pin."""
    pins = {}
    for line in (REPO / name).read_text().splitlines():
        requirement = line.partition("#")[0].strip()
        if not requirement:
            continue
        match = re.fullmatch(r"([A-Za-z0-9._-]+)==([^\s;=<>!~]+)", requirement)
        assert match, f"{name}: not an exact pin: {line!r}"
        pins[canonicalize_name(match[1])] = match[2]
    return pins


def env_file() -> dict:
    return yaml.safe_load(ENV_FILE.read_text())


def env_pip_lines() -> list[str]:
    sections = [item["pip"] for item in env_file()["dependencies"] if isinstance(item, dict)]
    assert len(sections) == 1, "envs/mtaal.yaml: one pip section"
    return sections[0]


RUNTIME = lock_pins("requirements.lock")
DEV = lock_pins("requirements-dev.lock")


def test_the_runtime_lock_is_the_dev_lock_less_the_extras():
    assert RUNTIME, "requirements.lock is empty"
    assert {name: DEV.get(name) for name in RUNTIME} == RUNTIME


@pytest.mark.parametrize(("lock", "groups"), [
    ("requirements.lock", ["dependencies"]),
    ("requirements-dev.lock", ["dependencies", "test", "slurm"]),
])
def test_every_declared_requirement_is_pinned_within_its_range(lock, groups):
    pins = RUNTIME if lock == "requirements.lock" else DEV
    extras = PYPROJECT["project"]["optional-dependencies"]
    for group in groups:
        for spec in PYPROJECT["project"]["dependencies"] if group == "dependencies" else extras[group]:
            requirement = Requirement(spec)
            name = canonicalize_name(requirement.name)
            assert name in pins, f"{lock} lacks {requirement.name} ({group}): run `make lock`"
            assert requirement.specifier.contains(Version(pins[name]), prereleases=True), (
                f"{lock}: {name}=={pins[name]} is outside pyproject's {spec!r}: run `make lock`")


def test_torch_is_locked_without_a_build_label_and_without_cuda_packages():
    # torch==X matches every build of X: `make setup` installs the CPU or the CUDA build first.
    assert "+" not in DEV["torch"] and DEV["torch"] == RUNTIME["torch"]
    cuda = sorted(n for n in DEV if n.startswith(("nvidia-", "cuda-", "triton")))
    assert not cuda, f"the locks carry CUDA packages (resolved against the CUDA torch?): {cuda}"


def test_the_conda_env_installs_exactly_the_runtime_lock():
    lines = env_pip_lines()
    assert lines[0] == TORCH_CPU_INDEX, "the env's torch: the CPU build"
    pins = {}
    for line in lines[1:]:
        name, sep, version = line.partition("==")
        assert sep and not line.startswith("-"), f"envs/mtaal.yaml: not a pin: {line!r} (no paths: see below)"
        pins[canonicalize_name(name)] = version
    assert pins == RUNTIME, "envs/mtaal.yaml and requirements.lock differ: run `make lock`"
    python = [d for d in env_file()["dependencies"] if isinstance(d, str) and d.startswith("python=")]
    assert python == [f"python={PYPROJECT['project']['requires-python'].removeprefix('>=')}"]


def test_the_package_reaches_the_conda_env_through_the_post_deploy_hook():
    # conda runs the env file's pip section from the directory of the file's copy in .snakemake/conda/, so a
    # path there (`--editable ..`) does not name this checkout; Snakemake's post-deploy hook runs from the
    # working directory instead.
    hook = ENV_FILE.with_name("mtaal.post-deploy.sh")
    text = hook.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "pip install --no-deps --editable" in text
    assert not any(line.startswith(("-e", "--editable", ".", "/")) for line in env_pip_lines()[1:])


def test_the_makefile_reads_torch_from_the_lock():
    makefile = (REPO / "Makefile").read_text()
    assert not re.search(r"torch==\d", makefile), "a torch version in the Makefile: it belongs to the lock"
    assert "-r requirements-dev.lock" in makefile


def third_party_imports(root: Path) -> dict[str, set[str]]:
    """Top-level module names imported under ``root`` (stdlib and the package itself left out) -> files."""
    found: dict[str, set[str]] = {}
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.partition(".")[0]
                if top not in sys.stdlib_module_names and top != "mtaal":
                    found.setdefault(top, set()).add(str(path.relative_to(REPO)))
    return found


def test_every_module_the_package_imports_is_declared():
    declared = {canonicalize_name(Requirement(s).name) for s in PYPROJECT["project"]["dependencies"]}
    providers = metadata.packages_distributions()
    undeclared = {}
    for module, files in third_party_imports(REPO / "mtaal").items():
        distributions = {canonicalize_name(d) for d in providers.get(module, [module])}
        if not distributions & declared:
            undeclared[module] = sorted(files)
    assert not undeclared, f"imported by mtaal/ but not in pyproject's dependencies: {undeclared}"


def test_the_venv_holds_the_locked_versions():
    """`make setup` installed requirements-dev.lock (torch: any build of the locked version)."""
    wrong = {}
    for name, version in DEV.items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        if installed is None or Version(installed).public != Version(version).public:
            wrong[name] = (version, installed)
    assert not wrong, f"locked vs installed (run `make setup`): {wrong}"


def test_snakemake_plans_with_conda_envs(tmp_path):
    if shutil.which("conda") is None:
        pytest.skip("conda not installed: the env file is checked against the lock above, not planned")
    workdir = copy_workflow(tmp_path / "workflow")
    shutil.copy2(REPO / "pyproject.toml", workdir / "pyproject.toml")
    result = snakemake(workdir, "--sdm", "conda", "-n", "--configfile", "config/tiers/tiny.yaml")
    assert "envs/mtaal.yaml will be created" in result.stdout + result.stderr
