"""Regenerate the dependency locks from pyproject.toml, and the conda env file from the runtime lock.

    python3 tools/lock.py [--uv UV] [--torch VERSION] [--torch-from ARGS] [UV_ARGS ...]   (or: make lock)

Writes, for Python 3.11 on Linux x86-64 (CI, clusters, the conda env):

- ``requirements-dev.lock``: pyproject's dependencies and its ``test`` and ``slurm`` extras, exact versions
  (what ``make setup`` installs);
- ``requirements.lock``: the dependencies alone, at the same versions (what the conda env installs);
- ``envs/mtaal.yaml``: ``requirements.lock``'s pins as the env file's pip section.

torch is resolved as its CPU build (``torch==X+cpu``: its metadata lists no CUDA packages) and written
without the build label (``torch==X``), which every build of that version satisfies: ``make setup``
installs the build first (CPU, or CUDA with TORCH_INDEX), then the lock. uv must see the CPU build:
``--torch-from`` (default: PyTorch's CPU index; a folder of wheels: ``--torch-from "--find-links DIR"``).
The torch version kept is the lock's own unless ``--torch`` names another. Versions already in the locks
are kept (uv's preference for the output file's pins); pass ``--upgrade`` or ``--upgrade-package NAME``
after the options to move them.
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEV_LOCK = REPO / "requirements-dev.lock"
LOCK = REPO / "requirements.lock"
ENV_FILE = REPO / "envs" / "mtaal.yaml"
PYTHON = "3.11"
PLATFORM = "x86_64-manylinux_2_28"
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
TORCH_LINE = re.compile(r"^torch==([^+\s]+)(\+\S+)?(?=\s|$)", re.MULTILINE)

ENV_HEADER = f"""\
# Software for every rule when run with `--software-deployment-method conda` (`--sdm conda`).
# Written by `make lock` from requirements.lock (tests/unit/test_dependencies.py checks that they agree):
# edit pyproject.toml and run `make lock`, not this file. After conda builds the env,
# mtaal.post-deploy.sh (Snakemake's post-deploy hook) installs this checkout's package into it.
# torch: the CPU build from PyTorch's CPU index (PyPI's Linux torch of the same version is the CUDA
# build); for a GPU, change the index line to e.g. https://download.pytorch.org/whl/cu130.
channels:
  - conda-forge
  - nodefaults
dependencies:
  - python={PYTHON}
  - pip
  - pip:
      - --extra-index-url {TORCH_CPU_INDEX}
"""


def pins(text: str) -> list[str]:
    """The ``name==version`` lines of a lock (uv's annotations and comments left out)."""
    lines = (line.partition("#")[0].strip() for line in text.splitlines())
    return [line for line in lines if line]


def current_torch() -> str | None:
    for path in (LOCK, DEV_LOCK):
        if path.is_file() and (match := TORCH_LINE.search(path.read_text())):
            return match.group(1)
    return None


def compile_lock(uv: str, out: Path, extra: list[str], torch_from: list[str], uv_args: list[str]) -> None:
    command = [uv, "pip", "compile", "pyproject.toml", *extra, "--python-version", PYTHON,
               "--python-platform", PLATFORM, *torch_from, "--custom-compile-command", "make lock",
               "--annotation-style", "line", *uv_args, "-o", str(out.relative_to(REPO))]
    print("+", shlex.join(command), flush=True)
    if subprocess.run(command, cwd=REPO).returncode:
        sys.exit(f"tools/lock.py: uv failed, {out.name} unchanged (where uv cannot reach PyTorch's CPU "
                 "index, name a folder holding the CPU torch wheel: --torch-from '--find-links DIR')")


def without_constraint_notes(text: str) -> str:
    """uv's ``# via`` notes less the constraint files (the other lock, a temporary file): a pin's reasons."""
    lines = []
    for line in text.splitlines():
        pin, sep, note = line.partition("  # via ")
        if sep:
            reasons = [r for r in note.split(", ") if not r.startswith("-c ")]
            line = pin + (f"  # via {', '.join(reasons)}" if reasons else "")
        lines.append(line.rstrip())
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--uv", default="uv", help="the uv executable (default: uv on PATH)")
    parser.add_argument("--torch", help="torch version to lock (default: the lock's own)")
    parser.add_argument("--torch-from", default=f"--extra-index-url {TORCH_CPU_INDEX} "
                        "--index-strategy unsafe-best-match",
                        help="uv options under which torch's CPU build is found")
    args, uv_args = parser.parse_known_args(argv)
    torch = args.torch or current_torch()
    if torch is None:
        parser.error("no torch version in the locks: name one with --torch")
    torch_from = shlex.split(args.torch_from)
    with tempfile.TemporaryDirectory() as tmp:
        cpu = Path(tmp) / "torch-cpu.txt"
        cpu.write_text(f"torch=={torch}+cpu\n")
        compile_lock(args.uv, DEV_LOCK, ["--extra", "test", "--extra", "slurm", "-c", str(cpu)], torch_from,
                     uv_args)
        compile_lock(args.uv, LOCK, ["-c", str(DEV_LOCK), "-c", str(cpu)], torch_from, uv_args)
    for path in (DEV_LOCK, LOCK):
        text = without_constraint_notes(path.read_text())
        path.write_text(TORCH_LINE.sub(lambda m: f"torch=={m[1]}{' ' * len(m[2] or '')}", text))
    body = "".join(f"      - {pin}\n" for pin in pins(LOCK.read_text()))
    ENV_FILE.write_text(ENV_HEADER + body)
    print(f"wrote {DEV_LOCK.name}, {LOCK.name} ({len(pins(LOCK.read_text()))} pins) and "
          f"{ENV_FILE.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
