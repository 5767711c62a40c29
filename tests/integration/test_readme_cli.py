"""The documented command-line sequence (docs/cli.md), typed as a newcomer types it (issue 27, item 7): each
line of its first block, in order, in a fresh folder beside a `shared/corpora` mirror, at the tiny tier's
sizes (the default tier's choices: its datasets and GloVe). One corpus at a time, every step must finish.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
MTAAL = str(Path(sys.executable).with_name("mtaal"))


def readme_commands() -> list[list[str]]:
    """The commands of docs/cli.md's first block: continuations joined, comments and `&&` split."""
    page = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    start = page.index("```bash\n", page.index("# Command line")) + len("```bash\n")
    block = page[start : page.index("```", start)].replace("\\\n", " ")
    commands = []
    for line in block.splitlines():
        line = re.sub(r"(^|\s)#.*$", "", line).strip()
        commands += [shlex.split(part) for part in line.split("&&") if part.strip()]
    return commands


def test_the_readme_sequence_runs_one_corpus_at_a_time(mirror, tmp_path):
    work = tmp_path / "mtaal"
    work.mkdir()
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "corpora").symlink_to(mirror)  # the page's ../shared/corpora
    for name in ("config", "reproductions"):  # what the page names relative to the checkout
        (work / name).symlink_to(REPO / name)
    default = yaml.safe_load((REPO / "config/config.yaml").read_text())
    (tmp_path / "sizes.yaml").write_text(yaml.safe_dump({"datasets": default["datasets"],
                                                         "mtaal": {"embeddings": ["glove"]}}))
    tier = [str(part) for path in (REPO / "config/config.yaml", REPO / "config/tiers/tiny.yaml",
                                   tmp_path / "sizes.yaml") for part in ("--config", path)]
    commands = readme_commands()
    assert len(commands) > 20 and all(words[0] == "mtaal" for words in commands)
    for words in commands:
        own = "--config" in words or words[1] == "check-config"  # the lines that pick their own config
        argv = [MTAAL, *words[1:]] if own else [MTAAL, *tier, *words[1:]]
        done = subprocess.run(argv, cwd=work, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{' '.join(words)}:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    results = work / "results"
    # the runs of both papers in the store, the cli/ runs among them
    store = pd.read_parquet(results / "store")
    assert set(store["run_id"]) == {"ncbi_disease__glove__mtaal__seed1",
                                    "minilm__cdr_chemical__ablation0.5__seed1",
                                    "minilm__cdr_chemical+s800_species__ablation0__seed1"}
    sequences = pd.read_parquet(results / "tables/wordpiece_minilm.parquet")
    assert set(sequences["dataset"]) == {"cdr_chemical", "s800_species"}
    for made in ("mtaal/tables/final_f1.parquet", "multitask/minilm/report/table2_stl.parquet",
                 "results/comparison.parquet", "results/claims.parquet", "results/fig5_entity_ablation.png",
                 "report/provenance.html"):
        assert (results / made).is_file(), made
