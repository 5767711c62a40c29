"""tools/same_outputs.py: the refactor proof compares the store whatever its file layout."""

import importlib.util
from pathlib import Path

import pandas as pd

TOOL = Path(__file__).parents[2] / "tools" / "same_outputs.py"
SPEC = importlib.util.spec_from_file_location("same_outputs", TOOL)
same_outputs = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(same_outputs)


def _rows(f1: float, extra_metric: bool = False) -> pd.DataFrame:
    rows = [("run-a", "ner_f1", 0.5), ("run-a", "ner_f1", f1), ("run-b", "ner_f1", 0.25),
            ("run-a", "wall_seconds", 12.0)]
    if extra_metric:
        rows.append(("run-a", "queried_tokens", 640.0))
    return pd.DataFrame(rows, columns=["run", "metric", "value"])


def _write(root: Path, frame: pd.DataFrame, partitioned: bool) -> Path:
    for run, part in frame.groupby("run"):
        folder = root / "store" / ("paper=mtaal" if partitioned else "")
        folder.mkdir(parents=True, exist_ok=True)
        part.to_parquet(folder / f"{run}.parquet")
    return root


def test_store_layouts_compared_row_by_row(tmp_path):
    before = _write(tmp_path / "before", _rows(0.75), partitioned=False)
    same = _write(tmp_path / "same", _rows(0.75, extra_metric=True).assign(wall_seconds=1.0),
                  partitioned=True)
    changed = _write(tmp_path / "changed", _rows(0.7501), partitioned=True)

    report = same_outputs.compare_store(before, same)
    assert report["metrics_only_after"] == ["queried_tokens"] and not report["metrics_only_before"]
    assert "differs" not in report and not report["columns_only_after"]  # timings aside, the same rows

    report = same_outputs.compare_store(before, changed)
    assert report["differs"]["ner_f1"]["differs"][0]["column"] == "value"
    assert report["differs"]["ner_f1"]["differs"][0]["rows"] == 1


def test_figures_and_pages_compared_byte_for_byte_but_the_provenance_pages(tmp_path):
    def write(root: Path, figure: bytes, provenance: str, extra: bool = False) -> Path:
        for name, data in {"mtaal/figures/fig6.png": figure, "results/claims.md": b"# claims\n",
                           "report/provenance.html": provenance.encode(), "logs/run.md": provenance.encode(),
                           **({"results/new.svg": b"<svg/>"} if extra else {})}.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(data)
        return root

    before = write(tmp_path / "before", b"\x89PNG 1", "commit a")
    same = write(tmp_path / "same", b"\x89PNG 1", "commit b")
    changed = write(tmp_path / "changed", b"\x89PNG 2", "commit a", extra=True)

    report = same_outputs.compare_rendered(before, same)
    assert report == {"compared": 3, "differ": [], "volatile": ["report/provenance.html"], "only_before": [],
                      "only_after": []}  # logs/ are not outputs
    report = same_outputs.compare_rendered(before, changed)
    assert report["differ"] == ["mtaal/figures/fig6.png"] and report["only_after"] == ["results/new.svg"]
