"""One tidy results store for both papers: every run's per-round / per-epoch scores in one long schema.

Layout (Hive partitioning, one file per run)::

    results/store/paper=<paper>/experiment=<experiment>/<run id>.parquet

``paper`` and ``experiment`` live in the path only (so pandas, pyarrow, polars and duckdb all read the
folder as one table with those two columns); every other column of :data:`SCHEMA` is in each file.

``labeled_fraction`` is the share of the run's available training sentences / sequences that were
labeled (MTAAL: labeled count over the initial labeled set plus the unlabeled pool, after a tier's caps;
transformer: training sequences kept after data ablation over those before it). It puts the two papers'
runs on one axis.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa

from mtaal.active.metrics import ALL_O_METRICS, QUERY_METRICS, TEST_METRICS
from mtaal.active.report import collect_rounds
from mtaal.corpora.registry import entity_type_of
from mtaal.io import write_parquet
from mtaal.multitask.evaluation import ALL_O_METRICS as MULTITASK_ALL_O_METRICS
from mtaal.multitask.evaluation import METRICS as MULTITASK_METRICS
from mtaal.multitask.report import parse_run_path

SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("dataset", pa.string()),
        ("entity_type", pa.string()),
        ("setting", pa.string()),  # MTAAL variant (e.g. mtl_td-lc); transformer experiment group
        ("tasks", pa.string()),  # ner / nen / ner+nen; transformer: the tasks the model trained on
        ("strategy", pa.string()),  # query strategy; transformer: none
        ("model", pa.string()),  # word embedding (MTAAL) or encoder (transformer)
        ("seed", pa.int64()),
        ("tier", pa.string()),  # the scale tier the run belongs to (MTAAL runs write it; else null)
        ("settings_hash", pa.string()),  # what a resumed run must share (mtaal.active.settings.ALSettings)
        ("ablation_fraction", pa.float64()),  # transformer data ablation asked for; MTAAL: 0
        ("step_kind", pa.string()),  # round | epoch
        ("step", pa.int64()),
        ("final", pa.bool_()),  # the step a paper table reports (best dev epoch; MTAAL: every round)
        ("labeled_count", pa.int64()),
        ("labeled_fraction", pa.float64()),
        ("split", pa.string()),
        ("metric", pa.string()),
        ("value", pa.float64()),
    ]
)
PARTITIONS = ("paper", "experiment")
# A run written before the query statistics existed has none of them (it is then not in Table 4).
MTAAL_METRICS = (*TEST_METRICS, *ALL_O_METRICS, "task_loss", "wall_seconds", *QUERY_METRICS)


def store_path(root: Path, paper: str, experiment: str, run_id: str) -> Path:
    return Path(root) / f"paper={paper}" / f"experiment={experiment}" / f"{run_id}.parquet"


def _table(rows: pd.DataFrame) -> pa.Table:
    missing = [name for name in SCHEMA.names if name not in rows.columns]
    if missing:
        raise ValueError(f"store rows lack columns {missing}")
    return pa.Table.from_pandas(rows[SCHEMA.names], schema=SCHEMA, preserve_index=False)


# -------------------------------------------------------------------------------- MTAAL runs


def mtaal_run_id(dataset: str, embedding: str, variant: str, seed: int) -> str:
    """The store file name of one MTAAL run."""
    return f"{dataset}__{embedding}__{variant}__seed{seed}"


def mtaal_rows(rounds_path: Path) -> tuple[str, str, pd.DataFrame]:
    """A ``rounds.parquet`` as store rows, its identity and labeled-fraction denominator (the initial
    labeled set plus the pool after the caps) from its own columns. Returns (experiment, run id, rows)."""
    frame = collect_rounds([Path(rounds_path)])
    study, variant = frame["study"].iat[0], frame["variant"].iat[0]
    denominator = int(frame["available_sentences"].iat[0])
    metrics = [m for m in MTAAL_METRICS if m in frame.columns]
    long = frame.melt(
        id_vars=["dataset", "embedding", "tasks", "strategy", "seed", "tier", "settings_hash", "round",
                 "labeled_count"],
        value_vars=metrics,
        var_name="metric",
    )
    dataset = long["dataset"].iat[0]
    run_id = mtaal_run_id(dataset, long["embedding"].iat[0], variant, long["seed"].iat[0])
    rows = long.rename(columns={"embedding": "model", "round": "step"}).assign(
        run_id=run_id,
        entity_type=None,
        setting=variant,
        ablation_fraction=0.0,
        step_kind="round",
        final=True,
        labeled_fraction=long["labeled_count"] / denominator if denominator else float("nan"),
        split="test",
    )
    return study, run_id, rows


# -------------------------------------------------------------------------------- transformer runs


def multitask_rows(run_dir: Path) -> tuple[str, str, pd.DataFrame]:
    """A transformer run directory (``best.json`` + ``epochs.parquet``) as store rows: every epoch's dev
    and test scores per task, ``final`` on the best dev epoch. A skipped run gives no rows."""
    key = parse_run_path(run_dir)
    record = json.loads((key.directory / "best.json").read_text(encoding="utf-8"))
    run_id = f"{key.encoder}__{key.group}__ablation{key.fraction:g}__seed{key.seed}"
    epochs_path = key.directory / "epochs.parquet"
    if record.get("status") == "skipped" or not epochs_path.exists():
        return key.experiment, run_id, pd.DataFrame(columns=SCHEMA.names)
    epochs = pd.read_parquet(epochs_path)
    data = record.get("data", {})
    long = epochs.melt(
        id_vars=["epoch", "task", "split", "train_sequences"],
        value_vars=[m for m in (*MULTITASK_METRICS, *MULTITASK_ALL_O_METRICS) if m in epochs.columns],
        var_name="metric",
    )
    kept = {task: entry.get("train_kept") for task, entry in data.items()}
    total = {task: entry.get("train_total") for task, entry in data.items()}
    fraction = [(kept[t] / total[t]) if total.get(t) else float("nan") for t in long["task"]]
    rows = long.rename(columns={"task": "dataset", "epoch": "step"}).assign(
        run_id=run_id,
        entity_type=[entity_type_of(t) for t in long["task"]],
        setting=f"{key.experiment}/{key.group}",
        tasks="+".join(sorted(record.get("tasks", {}))),
        strategy=None,
        model=key.encoder,
        seed=key.seed,
        tier=None,
        settings_hash=None,
        ablation_fraction=key.fraction,
        step_kind="epoch",
        final=long["epoch"] == record.get("best_epoch"),
        labeled_count=[kept.get(t) for t in long["task"]],
        labeled_fraction=fraction,
    )
    rows["labeled_count"] = rows["labeled_count"].astype("Int64")
    return key.experiment, run_id, rows


# -------------------------------------------------------------------------------- the store


def write_run(rows: pd.DataFrame, root: Path, paper: str, experiment: str, run_id: str) -> Path:
    """One run's store rows (checked against :data:`SCHEMA`) as its store file under ``root``."""
    target = store_path(root, paper, experiment, run_id)
    write_parquet(_table(rows), target)
    return target


def write_store(root: Path, mtaal_rounds: Iterable[Path], multitask_runs: Iterable[Path]) -> list[Path]:
    """Write one store file per run under ``root``. Returns the files written."""
    written = []
    for path in mtaal_rounds:
        experiment, run_id, rows = mtaal_rows(Path(path))
        written.append(write_run(rows, root, "mtaal", experiment, run_id))
    for run in multitask_runs:
        experiment, run_id, rows = multitask_rows(Path(run))
        if rows.empty:
            continue
        written.append(write_run(rows, root, "multitask", experiment, run_id))
    return written


def partition_path(root: Path, paper: str) -> Path:
    """The folder of one paper's runs in the store (what a rule that reads one paper depends on)."""
    return Path(root) / f"paper={paper}"


def read_store(root: Path | Sequence[Path]) -> pd.DataFrame:
    """The store as one pandas frame (partition columns as plain strings): the whole store under ``root``,
    or only the given paper partitions (:func:`partition_path`, e.g. a rule's inputs)."""
    import pyarrow.dataset as ds

    folders = [Path(root)] if isinstance(root, (str, Path)) else [Path(p) for p in root]
    base = folders[0] if isinstance(root, (str, Path)) else folders[0].parent if folders else Path(".")
    files = sorted(f for folder in folders for f in folder.rglob("*.parquet"))
    if not files:
        return pd.DataFrame(columns=[*PARTITIONS, *SCHEMA.names])
    dataset = ds.dataset([str(f) for f in files], format="parquet", partitioning="hive",
                         partition_base_dir=str(base))
    frame = dataset.to_table().to_pandas()
    for column in PARTITIONS:
        frame[column] = frame[column].astype(str)
    return frame[[*PARTITIONS, *SCHEMA.names]]


def rounds_from_store(store: pd.DataFrame) -> pd.DataFrame:
    """MTAAL store rows back in the shape of the runs' rounds (one row per run and round, a column per
    metric, ``study`` / ``variant`` / ``embedding`` / ``round`` named as :func:`collect_rounds` names them):
    what the MTAAL tables and figures read."""
    mtaal = store[store["paper"] == "mtaal"]
    keys = ["experiment", "setting", "dataset", "model", "tasks", "strategy", "seed", "step", "labeled_count"]
    wide = mtaal.set_index([*keys, "metric"])["value"].unstack("metric").reset_index()
    wide = wide.rename(columns={"experiment": "study", "setting": "variant", "model": "embedding",
                                              "step": "round"})
    wide.columns.name = None
    return wide.sort_values(["study", "dataset", "embedding", "variant", "seed", "round"], ignore_index=True)
