"""The documentation cannot rot: the MkDocs site builds with warnings as errors (every page in the nav,
every link and anchor found), and every relative link of the READMEs outside the site points at a file."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).parents[2]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_the_site_builds_strictly(tmp_path):
    pytest.importorskip("mkdocs", reason="mkdocs is not installed (in the test extra: pip install mkdocs)")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]
    for page in ("index.html", "configuration/index.html", "cli/index.html", "ncbi-paper-scale/index.html",
                 "ncbi-paper-scale/figures/fig7_strategies.png"):
        assert (tmp_path / page).is_file(), page


@pytest.mark.parametrize("readme", ["README.md", "config/README.md", "benchmarks/README.md",
                                    "reproductions/ncbi-paper-scale/README.md",
                                    "reproductions/bc5cdr-paper-scale/README.md",
                                    "reproductions/multitask-cpu/README.md"])
def test_relative_links_point_at_files(readme):
    path = REPO / readme
    targets = [t.split("#")[0] for t in LINK.findall(path.read_text(encoding="utf-8"))
               if "://" not in t and not t.startswith(("#", "mailto:"))]
    missing = [t for t in targets if t and not (path.parent / t).exists()]
    assert not missing, f"{readme} links to missing files: {missing}"
