"""One tidy results store for both papers: every run's per-round / per-epoch scores in one long schema.

Layout (Hive partitioning, one file per run)::

    results/store/paper=<paper>/experiment=<experiment>/<run id>.parquet

``paper`` and ``experiment`` live in the path only (so pandas, pyarrow, polars and duckdb all read the
folder as one table with those two columns); every other column of :data:`SCHEMA` is in each file.

``labeled_fraction`` is the share of the run's available training sentences / sequences that were
labeled (MTAAL: labeled count over the initial labeled set plus the unlabeled pool, after a tier's caps;
transformer: training sequences kept after data ablation over those before it). It puts the two papers'
runs on one axis.

Every run's identity comes from the run's own files, never from its path: MTAAL's ``rounds.parquet``
columns (:data:`mtaal.active.settings.IDENTITY_SCHEMA`), a transformer run's ``best.json`` ``identity``
(:data:`mtaal.multitask.identity.RUN_IDENTITY`; entity types from the run's corpus registry).

A transformer run (``step_kind`` ``epoch``, ``step`` the epoch) stores per task and epoch its dev scores
(``split`` dev), its test scores (``split`` test; a single-task run scores test at its best dev epoch only,
a multi-task run every epoch), and besides them, under ``split`` ``train``:

* ``train_sequences``: training sequences seen in that epoch (every epoch);
* ``train_total`` (the task's training sequences before ablation, after a tier's cap), ``train_kept`` (after
  ablation; also ``labeled_count``) and ``task_ablation_fraction`` (the fraction applied to this task: 0
  for a task not ablated): on the best dev epoch only (``final``).

The reported epoch of a task is the ``step`` of its ``final`` rows: the run's best mean dev epoch, or the
task's own best dev epoch (``model_selection: per_task``); the epochs run are the largest ``step``.

**Skipped.** A run that could not train, and each task a trained run left out, is one row per task (the
tasks a skipped run was asked to train; ``dataset`` null when none was named) with ``step_kind`` ``run``,
``step`` 0, ``final`` true, ``split`` null, ``value`` 1, ``tasks`` the tasks the run trained (null for a
skipped run) and ``metric`` ``skipped_<code>``, the code one of
:data:`mtaal.multitask.identity.SKIP_REASONS` (``no_training_data``: the task's corpus was skipped;
``no_encoder``: a fine-tune whose entity-ablated MTL run was skipped). Such rows carry no score: a reader
of scores selects its metrics by name.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa

from mtaal.active.identity import collect_rounds, mtaal_run_id
from mtaal.active.metrics import ALL_O_METRICS, COST_METRICS, QUERY_METRICS, TEST_METRICS
from mtaal.errors import MtaalError
from mtaal.io import write_parquet
from mtaal.multitask.evaluation import ALL_O_METRICS as MULTITASK_ALL_O_METRICS
from mtaal.multitask.evaluation import METRICS as MULTITASK_METRICS
from mtaal.multitask.identity import (
    BEST_FILE,
    EPOCHS_FILE,
    RUN_IDENTITY,
    SKIP_REASONS,
    multitask_run_id,
    reported_epochs,
)

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
        # MTAAL: what a resumed run must share (ALSettings); transformer: the settings that produced it
        ("settings_hash", pa.string()),
        ("ablation_fraction", pa.float64()),  # transformer data ablation asked for; MTAAL: 0
        ("step_kind", pa.string()),  # round | epoch | run (a skipped transformer run or task)
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
# The annotation cost (labeled words, mentions) likewise; a run without it has no cost curve.
MTAAL_METRICS = (*TEST_METRICS, *ALL_O_METRICS, "task_loss", "wall_seconds", *QUERY_METRICS, *COST_METRICS)
# A transformer run's data record at its best epoch (split "train"); train_sequences is on every epoch.
DATA_METRICS = ("train_total", "train_kept", "task_ablation_fraction")
SKIPPED_PREFIX = "skipped_"


def store_path(root: Path, paper: str, experiment: str, run_id: str) -> Path:
    return Path(root) / f"paper={paper}" / f"experiment={experiment}" / f"{run_id}.parquet"


def _table(rows: pd.DataFrame) -> pa.Table:
    missing = [name for name in SCHEMA.names if name not in rows.columns]
    if missing:
        raise ValueError(f"store rows lack columns {missing}")
    return pa.Table.from_pandas(rows[SCHEMA.names], schema=SCHEMA, preserve_index=False)


# -------------------------------------------------------------------------------- MTAAL runs


def mtaal_rows(rounds_path: Path, frame: pd.DataFrame | None = None) -> tuple[str, str, pd.DataFrame]:
    """A ``rounds.parquet`` (or ``frame``, its rows as :func:`collect_rounds` reads them) as store rows, its
    identity and labeled-fraction denominator (the initial labeled set plus the pool after the caps) from
    its own columns. Returns (experiment, run id, rows)."""
    frame = collect_rounds([Path(rounds_path)]) if frame is None else frame
    study, variant = frame["study"].iat[0], frame["variant"].iat[0]
    denominator = int(frame["available_sentences"].iat[0])
    metrics = [m for m in MTAAL_METRICS if m in frame.columns]
    long = frame.melt(
        id_vars=["dataset", "embedding", "tasks", "strategy", "seed", "tier", "settings_hash", "round",
                 "labeled_count"],
        value_vars=metrics,
        var_name="metric",
    )
    long = long[~(long["metric"].isin(COST_METRICS) & long["value"].isna())]  # resumed from before them
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


def read_identity(best_path: Path) -> tuple[dict, dict]:
    """A transformer run's ``best.json`` and its identity; an error when the run did not record it."""
    record = json.loads(Path(best_path).read_text(encoding="utf-8"))
    identity = record.get("identity")
    if not isinstance(identity, dict):
        raise MtaalError(f"{best_path}: no identity: written before runs recorded who they are: rerun it")
    missing = [key for key in RUN_IDENTITY if key not in identity]
    if missing:
        raise MtaalError(f"{best_path}: identity lacks {missing}: written by an older version: rerun it")
    return record, identity


def multitask_rows(run_dir: Path) -> tuple[str, str, pd.DataFrame]:
    """A transformer run directory (``best.json`` + ``epochs.parquet``) as store rows: every epoch's dev
    scores and training sequences per task, the best epoch's test scores, ``final`` on the best dev epoch,
    the data record on it; a skipped run or task as ``skipped_<code>`` rows (module docstring). Returns
    (experiment, run id, rows)."""
    best_path = Path(run_dir) / BEST_FILE
    record, who = read_identity(best_path)
    run_id = multitask_run_id(who)
    types = who["entity_types"]
    base = dict(
        run_id=run_id,
        setting=f"{who['experiment']}/{who['group']}",
        strategy=None,
        model=who["encoder"],
        seed=int(who["seed"]),
        tier=who["tier"],
        settings_hash=who["settings_hash"],
        ablation_fraction=float(who["ablation_fraction"]),
    )
    skipped = list(record.get("skipped_tasks") or [])
    if record.get("status") == "skipped":
        codes = {text: code for code, text in SKIP_REASONS.items()}
        if record.get("reason") not in codes:
            raise MtaalError(f"{best_path}: unknown skip reason {record.get('reason')!r} (expected one of "
                             f"{sorted(codes)})")
        only = who["tasks"] if len(who["tasks"]) == 1 else [None]
        rows = _skipped_rows(skipped or only, codes[record["reason"]], types, base, None)
        return who["experiment"], run_id, rows
    if "tasks" not in record:
        raise MtaalError(f"{best_path}: a trained run without per-task scores")
    epochs = pd.read_parquet(Path(run_dir) / EPOCHS_FILE)
    data = record.get("data", {})
    long = epochs.melt(
        id_vars=["epoch", "task", "split"],
        value_vars=[m for m in (*MULTITASK_METRICS, *MULTITASK_ALL_O_METRICS) if m in epochs.columns],
        var_name="metric",
    )
    seen = epochs.drop_duplicates(["epoch", "task"])[["epoch", "task", "train_sequences"]]
    seen = seen.rename(columns={"train_sequences": "value"}).assign(split="train", metric="train_sequences")
    # Each task's reported epoch: the run's best mean dev epoch, or the task's own (model_selection per_task).
    reported = reported_epochs(record)
    best = {task: reported.get(task, record["best_epoch"]) for task in set(epochs["task"]) | set(data)}
    recorded = pd.DataFrame(
        [
            {"epoch": best[task], "task": task, "split": "train", "metric": metric,
             "value": data[task].get("ablation_fraction" if metric == "task_ablation_fraction" else metric)}
            for task in sorted(data)
            for metric in DATA_METRICS
        ],
        columns=["epoch", "task", "split", "metric", "value"],
    )
    long = pd.concat([long, seen, recorded], ignore_index=True)
    long["value"] = long["value"].astype(float)
    kept = {task: entry.get("train_kept") for task, entry in data.items()}
    total = {task: entry.get("train_total") for task, entry in data.items()}
    fraction = [(kept[t] / total[t]) if total.get(t) else float("nan") for t in long["task"]]
    rows = long.rename(columns={"task": "dataset", "epoch": "step"}).assign(
        **base,
        entity_type=[types[t] for t in long["task"]],
        tasks="+".join(sorted(record["tasks"])),
        step_kind="epoch",
        final=long["epoch"] == long["task"].map(best),
        labeled_count=[kept.get(t) for t in long["task"]],
        labeled_fraction=fraction,
    )
    rows["labeled_count"] = rows["labeled_count"].astype("Int64")
    if skipped:
        left_out = _skipped_rows(skipped, "no_training_data", types, base, rows["tasks"].iat[0])
        rows = pd.concat([left_out, rows], ignore_index=True)
    return who["experiment"], run_id, rows


def _skipped_rows(tasks: list, code: str, types: dict, base: dict, trained: str | None) -> pd.DataFrame:
    """One ``skipped_<code>`` row per task; ``trained``: the run's ``tasks`` column (None: nothing)."""
    return pd.DataFrame(
        [
            {**base, "dataset": task, "entity_type": types.get(task) if task else None,
             "tasks": trained, "step_kind": "run", "step": 0, "final": True, "labeled_count": None,
             "labeled_fraction": float("nan"), "split": None, "metric": SKIPPED_PREFIX + code, "value": 1.0}
            for task in tasks
        ],
        columns=SCHEMA.names,
    )


# -------------------------------------------------------------------------------- the store


def write_run(rows: pd.DataFrame, root: Path, paper: str, experiment: str, run_id: str) -> Path:
    """One run's store rows (checked against :data:`SCHEMA`) as its store file under ``root``."""
    target = store_path(root, paper, experiment, run_id)
    write_parquet(_table(rows), target)
    return target


def write_store(root: Path, mtaal_rounds: Iterable[Path], multitask_runs: Iterable[Path]) -> list[Path]:
    """Write one store file per run under ``root``. Returns the files written. Two transformer runs that
    say they are the same run (one store file) are an error before anything is written."""
    runs: dict[Path, Path] = {}
    for run in multitask_runs:
        _, who = read_identity(Path(run) / BEST_FILE)
        target = store_path(root, "multitask", who["experiment"], multitask_run_id(who))
        if target in runs:
            raise MtaalError(f"{run} and {runs[target]}: both say they are run {target.stem} of experiment "
                             f"{who['experiment']} (one store file); store one of them")
        runs[target] = Path(run)
    written = []
    for path in mtaal_rounds:
        experiment, run_id, rows = mtaal_rows(Path(path))
        written.append(write_run(rows, root, "mtaal", experiment, run_id))
    for run in runs.values():
        experiment, run_id, rows = multitask_rows(run)
        written.append(write_run(rows, root, "multitask", experiment, run_id))
    return written


def partition_path(root: Path, paper: str) -> Path:
    """The folder of one paper's runs in the store (what a rule that reads one paper depends on)."""
    return Path(root) / f"paper={paper}"


def read_store(root: Path | Sequence[Path]) -> pd.DataFrame:
    """The store as one pandas frame (partition columns as plain strings): the whole store under ``root``,
    or only the given paper partitions (:func:`partition_path`, e.g. a rule's inputs)."""
    import pyarrow.dataset as ds

    if isinstance(root, (str, Path)) and Path(root).name.startswith("paper="):
        root = [Path(root)]  # one partition: its parent is the base, so ``paper`` stays a column
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


def task_entity_types(store: pd.DataFrame | None, tasks: Iterable[str], registry_types: Mapping[str, str]
                      ) -> dict[str, str]:
    """Each task's entity type: its runs' own (the store's ``entity_type``, which each run wrote from the
    registry it ran with), else the config's corpus registry's (``registry_types``:
    :meth:`~mtaal.corpora.registry.Registry.entity_types`) for a task without runs. Never the task's name."""
    from_runs = pd.Series(dtype=object)
    if store is not None and len(store):
        typed = store[store["entity_type"].notna() & (store["entity_type"] != "")]
        from_runs = typed.groupby("dataset")["entity_type"].unique()
    out = {}
    for task in dict.fromkeys(tasks):
        if task in from_runs.index:
            types = sorted(from_runs[task])
            if len(types) != 1:
                raise MtaalError(f"the store's runs of {task} give it several entity types: "
                                 f"{', '.join(types)}")
            out[task] = types[0]
        elif task in registry_types:
            out[task] = registry_types[task]
        else:
            raise MtaalError(f"{task} has no runs in the store and no single entity type in the config's "
                             "corpus registry")
    return out
