"""A reproduction record of the multitask paper (Rodriguez, Nguyen & McInnes, JBI 2022): its tier's
transformer runs kept beside the code (:mod:`mtaal.results.record` says what a record is; this module is its
multitask half). ``record.yaml`` names the paper (``multitask``), the tier and the claims judged.

Layout of a multitask record (``reproductions/<name>/``)::

    record.yaml                                             paper, tier, its config files, claims judged
    store/paper=multitask/experiment=<e>/<run id>.parquet   the finished runs (results store schema)
    inputs/corpus_stats.parquet, wordpiece_<encoder>.parquet  the corpus tables the report reads beside
                                                            the store (Table 1, Fig. 4, sequence counts)
    jobs.tsv                                                one line per run: stage, wall / CPU time, max
                                                            RSS (its Snakemake benchmark), epochs, commit,
                                                            machine, tier
    provenance/config.yaml, packages.tsv                    the resolved config and package versions
    comparison.parquet, comparison.md                       every printed cell beside ours; a score of
                                                            another encoder is flagged "different model"
    deltas.parquet, deltas_summary.parquet, deltas.md       what is judged: per task MTL - STL, the drop
                                                            from ablation 0 to f, fine-tuned - STL at equal
                                                            data, each beside the paper's printed delta,
                                                            with sign agreement and Spearman's rho
    cells.md                                                the deltas per task (the record README's table)
    claims.parquet, claims.md                               the multitask claims on the record's runs and
                                                            on the printed numbers
    report/                                                 the multitask report (Tables 1-7, Figs. 4-6)
                                                            from the store and inputs/
    figures/fig4-6*, fig_deltas*                            Figs. 4-6 in the paper's metric; our deltas
                                                            against the printed ones
    STATUS.md                                               what is in, what is missing, per stage

The runs are :func:`mtaal.planning.planned_multitask_runs`'s, in stages (:func:`planned_runs`): S1 the
main tables (MTL over all tasks at ablation 0 first, the longest, then STL of every task, smallest first),
S2 the data ablation (each fraction above 0: MTL, then STL), S3 the entity ablation (MTL without each
entity group) and the held-out tasks fine-tuned from it at every fraction.

Every score the comparison and the claims judge is the paper's printed metric, the word level with B-/I-
stripped (``word_io_f1``); the strict word and entity F1 stand beside it. The deltas, their sign agreement
and rank correlation are :mod:`mtaal.results.record_deltas`'s.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa

from mtaal.corpora.registry import load_registry
from mtaal.errors import MtaalError
from mtaal.io import write_parquet, write_text
from mtaal.multitask.identity import BEST_FILE, EPOCHS_FILE
from mtaal.planning import huner_tasks, planned_multitask_runs
from mtaal.results import compare as C
from mtaal.results.claims import Context, claims_markdown, judge_claims
from mtaal.results.comparison_markdown import comparison_markdown
from mtaal.results.record import (
    benchmark_columns,
    checkout_path,
    job_origin,
    read_jobs,
    record_spec,
    with_job,
    write_provenance,
)
from mtaal.results.record_deltas import (
    PAPER,
    WORD_IO,
    cells_markdown,
    delta_summary,
    delta_table,
    deltas_figure,
    deltas_markdown,
    sign_agreement,
)
from mtaal.results.store import multitask_rows, read_store, write_run

MULTITASK_BENCHMARK = (
    "{root}/benchmarks/multitask/{encoder}/{experiment}/{group}/ablation{fraction}/seed{seed}.tsv"
)
JOB_COLUMNS = [
    "run_id",
    "stage",
    "wall_seconds",
    "cpu_seconds",
    "max_rss_mb",
    "epochs",
    "epoch_seconds",
    "commit",
    "machine",
    "tier",
]
STAGES = {
    "S1": "main tables: MTL over all tasks and STL of every task, ablation 0 (Tables 2-3, 7; Fig. 4)",
    "S2": "data ablation: STL and MTL at each fraction above 0 (Tables 4-5)",
    "S3": "entity ablation: MTL without each entity group, its tasks fine-tuned from it (Fig. 5; Table 6, "
    "Fig. 6)",
}
# The printed tables the record compares cell by cell.
TABLES = ("Table 1", "Table 2", "Table 3", "Table 4", "Table 5", "Table 6", "Table 7", "Section 6")
PAPER_ENCODER = "biobert_vocab"  # the wordpiece table in the paper's vocabulary (sequence counts)


# -------------------------------------------------------------------------------- the runs


@dataclass(frozen=True)
class MultitaskRun:
    """One transformer run of the tier (rules multitask_stl / _mtl / _mtl_without / _finetune)."""

    encoder: str
    experiment: str
    group: str
    fraction: str  # as the path writes it: 0, 0.5
    seed: int

    @classmethod
    def from_best(cls, path: str | Path) -> MultitaskRun:
        """From a planned ``.../multitask/<encoder>/<experiment>/<group>/ablation<f>/seed<s>/best.json``."""
        encoder, experiment, group, fraction, seed = Path(path).parts[-6:-1]
        return cls(
            encoder, experiment, group, fraction.removeprefix("ablation"), int(seed.removeprefix("seed"))
        )

    @property
    def run_id(self) -> str:
        """The store file name (:func:`mtaal.multitask.identity.multitask_run_id`)."""
        return f"{self.encoder}__{self.group}__ablation{float(self.fraction):g}__seed{self.seed}"

    @property
    def key(self) -> str:
        """Unique in the record: a run id is unique within its experiment only."""
        return f"{self.experiment}/{self.run_id}"

    @property
    def stage(self) -> str:
        if self.experiment in ("stl", "mtl"):
            return "S1" if float(self.fraction) == 0 else "S2"
        return "S3"

    def _fill(self, template: str, root: str | Path) -> Path:
        return Path(
            template.format(
                root=root,
                encoder=self.encoder,
                experiment=self.experiment,
                group=self.group,
                fraction=self.fraction,
                seed=self.seed,
            )
        )

    def best_path(self, root: str | Path = "results") -> Path:
        return (
            self._fill("{root}/multitask/{encoder}/{experiment}/{group}/ablation{fraction}/seed{seed}", root)
            / BEST_FILE
        )

    def benchmark_path(self, root: str | Path = "results") -> Path:
        return self._fill(MULTITASK_BENCHMARK, root)


def _registry(config: Mapping):
    return load_registry(checkout_path(config["corpus_registry"]))


def train_subwords(record: Path, results: Path | None, encoder: str) -> dict[str, int]:
    """Each task's training subwords (the record's copy of the wordpiece table, else the one under
    ``results``; none: {})."""
    for folder in (Path(record) / "inputs", *([Path(results) / "tables"] if results else [])):
        path = folder / f"wordpiece_{encoder}.parquet"
        if path.is_file():
            table = pd.read_parquet(path, columns=["dataset", "split", "subwords"])
            train = table[table["split"] == "train"]
            return {str(d): int(n) for d, n in zip(train["dataset"], train["subwords"], strict=True)}
    return {}


def planned_runs(config: Mapping, sizes: Mapping[str, int] | None = None) -> list[MultitaskRun]:
    """The tier's runs (:func:`~mtaal.planning.planned_multitask_runs`) in stage order: per stage and seed,
    the multi-task runs first (the longest), then single-task ones by training size (``sizes``: task ->
    training subwords, capped at ``multitask.max_train_subwords``, where an unknown size counts too; ties
    in config order),
    so that a chunk of runs keeps both cores busy and a record cut off anywhere holds the most of a table."""
    settings = config["multitask"]
    registry = _registry(config)
    runs = [MultitaskRun.from_best(p) for p in planned_multitask_runs(config, registry)]
    tasks = huner_tasks(config, registry)
    budget = settings.get("max_train_subwords") or math.inf
    sizes = sizes or {}

    def size(task: str) -> tuple:
        return (min(sizes.get(task, math.inf), budget), tasks.index(task) if task in tasks else len(tasks))

    def order(run: MultitaskRun) -> tuple:
        seed = list(settings["seeds"]).index(run.seed)
        if run.stage == "S3":
            long = run.experiment == "mtl_without"
            group = list(settings["entity_groups"]).index(run.group) if long else 0
            return (run.stage, seed, not long, float(run.fraction), group, () if long else size(run.group))
        return (
            run.stage,
            seed,
            float(run.fraction),
            run.experiment != "mtl",
            () if run.experiment == "mtl" else size(run.group),
        )

    return sorted(runs, key=order)


def recorded_keys(record: Path) -> set[str]:
    folder = Path(record) / "store" / f"paper={PAPER}"
    return {f"{p.parent.name.removeprefix('experiment=')}/{p.stem}" for p in folder.rglob("*.parquet")}


def missing_runs(record: Path, config: Mapping, results: Path | None = None) -> list[MultitaskRun]:
    done = recorded_keys(record)
    sizes = train_subwords(record, results, config["multitask"]["encoder"])
    return [run for run in planned_runs(config, sizes) if run.key not in done]


def progress(record: Path, config: Mapping, results: Path) -> list[str]:
    """Where each run the record lacks stands, beyond what STATUS.md (built from the record alone) can say:
    finished under ``results`` and not yet added, part-way with an epoch checkpoint (its epoch and mean
    dev word F1 so far), or not started."""
    from mtaal.checkpoint import checkpoint_header
    from mtaal.planning import multitask_checkpoint

    epochs = config["multitask"]["training"]["epochs"]
    lines = []
    for run in missing_runs(record, config):
        where = run.best_path(results)
        checkpoint = Path(multitask_checkpoint(config, run.encoder, run.experiment, run.group, run.fraction,
                                               run.seed, results))
        if where.is_file():
            state = f"finished ({where}), not yet in the record: mtaal record add"
        elif checkpoint.is_file():
            header = checkpoint_header(checkpoint)
            rows = pd.DataFrame(header["rows"])
            dev = rows[(rows["split"] == "dev") & (rows["epoch"] == header["epoch"])]
            state = (f"epoch {header['epoch']} of {epochs} done, mean dev word F1 {dev[WORD_IO].mean():.3f} "
                     f"(best epoch {header['best_epoch']}); resumes from {checkpoint}")
        else:
            state = "not started"
        lines.append(f"{run.stage} {run.key}: {state}")
    return lines


def epoch_seconds(epochs_file: Path) -> float:
    """A run's training and per-epoch scoring time, summed over its epochs: unlike the Snakemake benchmark's
    wall time, which covers the last sitting only, it counts every sitting of a resumed run."""
    epochs = pd.read_parquet(epochs_file, columns=["epoch", "seconds"]).drop_duplicates("epoch")
    return round(float(epochs["seconds"].sum()), 2)


def add_runs(record: Path, results: Path, config: Mapping) -> tuple[list[str], list[str]]:
    """Copy the tier's finished runs under ``results`` that the record lacks into it (store file + a
    ``jobs.tsv`` line), and the corpus tables the report reads beside them into ``inputs/``. A run whose
    identity is not its place's is an error; one of another tier is left out. Returns (added, left out:
    why)."""
    record, results = Path(record), Path(results)
    jobs = read_jobs(record, JOB_COLUMNS)
    added, refused = [], []
    for run in missing_runs(record, config, results):
        best = run.best_path(results)
        if not (best.is_file() and (best.parent / EPOCHS_FILE).is_file()):
            continue
        experiment, run_id, rows = multitask_rows(best.parent)
        if (experiment, run_id) != (run.experiment, run.run_id):
            raise MtaalError(f"{best}: its identity says run {experiment}/{run_id}, its place {run.key}")
        tier = str(rows["tier"].iat[0])
        if tier != config["tier"]:
            refused.append(f"{run.key}: a run of tier {tier}, not {config['tier']}")
            continue
        write_run(rows, record / "store", PAPER, experiment, run_id)
        epochs = rows.loc[rows["step_kind"] == "epoch", "step"]
        jobs = with_job(
            jobs,
            {
                "run_id": run.key,
                "stage": run.stage,
                **benchmark_columns(run.benchmark_path(results)),
                "epochs": int(epochs.max()) if len(epochs) else 0,
                "epoch_seconds": epoch_seconds(best.parent / EPOCHS_FILE),
                **job_origin(results, tier),
            },
        )
        added.append(run.key)
    if added:
        write_text(jobs.to_csv(sep="\t", index=False), record / "jobs.tsv")
        write_provenance(record, config)
        encoders = dict.fromkeys(
            [config["multitask"]["encoder"], *config["multitask"].get("wordpiece_encoders", [])]
        )
        for name in ["corpus_stats.parquet", *(f"wordpiece_{e}.parquet" for e in encoders)]:
            if (results / "tables" / name).is_file():
                (record / "inputs").mkdir(parents=True, exist_ok=True)
                shutil.copyfile(results / "tables" / name, record / "inputs" / name)
    return added, refused


# -------------------------------------------------------------------------------- rebuild


def _inputs(record: Path, encoder: str) -> dict[str, pd.DataFrame | None]:
    folder = Path(record) / "inputs"

    def read(name: str) -> pd.DataFrame | None:
        return pd.read_parquet(folder / name) if (folder / name).is_file() else None

    return {
        "corpus_stats": read("corpus_stats.parquet"),
        "sequences": read(f"wordpiece_{encoder}.parquet"),
        "paper_sequences": read(f"wordpiece_{PAPER_ENCODER}.parquet"),
    }


def absolute_cells(
    store: pd.DataFrame,
    reported: pd.DataFrame,
    config: Mapping,
    tasks: Sequence[str],
    inputs: Mapping,
    registry_types: Mapping[str, str],
) -> pd.DataFrame:
    """Every printed cell of the tier's tasks (and the average rows) beside ours
    (:func:`mtaal.results.compare.compare`); a score of an encoder other than the printed model is
    judged "different model" instead of against its interval. Sequence counts are the paper vocabulary's
    wordpiece table where the record has it."""
    printed = reported[
        (reported["paper"] == PAPER)
        & reported["table"].isin(TABLES)
        & (reported["dataset"].isin(tasks) | reported["dataset"].astype(str).str.startswith(C.GROUP_PREFIX))
    ]
    sequences = inputs["paper_sequences"] if inputs["paper_sequences"] is not None else inputs["sequences"]
    rep = C.Reproduction(
        store=store,
        report_after_round=config["mtaal"]["report_after_round"],
        corpus_stats=inputs["corpus_stats"],
        sequences=sequences,
        registry_types=registry_types,
    )
    # Average rows are judged against every task the paper averaged, not only the tier's.
    cells = C.compare(printed.reset_index(drop=True), rep, str(config.get("tier", "")),
                      members_from=reported[(reported["paper"] == PAPER) & reported["table"].isin(TABLES)])
    scored = (
        (cells["status"] == C.COMPARED)
        & ~cells["metric"].isin(C.COUNT_METRICS)
        & (cells["reproduced_model"] != "")
        & (cells["reproduced_model"] != cells["model"].fillna(""))
    )
    cells.loc[scored, "judgement"] = [
        f"different model ({ours}; printed: {theirs})"
        for ours, theirs in zip(
            cells.loc[scored, "reproduced_model"], cells.loc[scored, "model"], strict=True
        )
    ]
    return cells


def _write(frame: pd.DataFrame, path: Path) -> None:
    write_parquet(pa.Table.from_pandas(frame, preserve_index=False), path)


def rebuild(record: Path, reported: pd.DataFrame, config: Mapping) -> pd.DataFrame:
    """Comparison, deltas, claims, the report, figures and STATUS.md from the record's store and inputs/
    alone (no run, no ``results/``). Returns the deltas."""
    from mtaal.results.claim_evidence import store_context
    from mtaal.results.multitask_report import write_report
    from mtaal.results.multitask_report.runs import scores_from_store
    from mtaal.results.multitask_report.tables import fig4_data

    record = Path(record)
    settings = config["multitask"]
    encoder = settings["encoder"]
    registry = _registry(config)
    registry_types = registry.entity_types()
    tasks = huner_tasks(config, registry)
    store = read_store(record / "store")
    store = store[store["paper"] == PAPER] if len(store) else store
    inputs = _inputs(record, encoder)

    cells = absolute_cells(store, reported, config, tasks, inputs, registry_types)
    _write(cells, record / "comparison.parquet")
    write_text(
        comparison_markdown(
            cells,
            PAPER,
            f"Multitask NER (Rodriguez et al. 2022), {encoder} runs: "
            "absolute cells (a different model: see deltas.md for what is judged)",
        ),
        record / "comparison.md",
    )
    types = {t: registry_types.get(t, "") for t in tasks}
    deltas = delta_table(
        store,
        reported,
        tasks,
        settings["ablation_fractions"],
        types,
        [t for t in tasks if types[t] in settings["entity_groups"]],
        {run.experiment for run in planned_runs(config)},
    )
    summary = delta_summary(deltas)
    _write(deltas, record / "deltas.parquet")
    _write(summary, record / "deltas_summary.parquet")
    write_text(deltas_markdown(deltas, summary, encoder), record / "deltas.md")
    write_text(cells_markdown(deltas), record / "cells.md")

    corpus_stats = inputs["corpus_stats"]
    sequences = inputs["sequences"]
    have_inputs = corpus_stats is not None and sequences is not None
    results = config["results"]
    claim_settings = {
        "report_after_round": config["mtaal"]["report_after_round"],
        "alpha": results["alpha"],
        "margin": results["equivalence_margin"],
        "correlation_margin": results["correlation_margin"],
    }
    if have_inputs:
        write_report(
            record / "store" / f"paper={PAPER}",
            record / "inputs" / "corpus_stats.parquet",
            record / "inputs" / f"wordpiece_{encoder}.parquet",
            record / "report",
            encoder,
            registry_types,
        )
        context = store_context(
            store, corpus_stats, sequences, encoder, claim_settings, registry_types, str(record / "report")
        )
    else:
        context = Context(
            store=store,
            report_after_round=claim_settings["report_after_round"],
            diversity=pd.DataFrame(),
            fig4_points=pd.DataFrame(),
            alpha=results["alpha"],
            margin=results["equivalence_margin"],
            correlation_margin=results["correlation_margin"],
            multitask_report=f"{record}/report (not written: no inputs/ yet)",
            registry_types=registry_types,
        )
    claims = judge_claims(context, reported, str(config.get("tier", "")), record_spec(record)["claims"])
    _write(claims, record / "claims.parquet")
    write_text(claims_markdown(claims), record / "claims.md")

    scores = scores_from_store(store, encoder)
    points = (
        fig4_data(scores.assign(word_f1=scores[WORD_IO]), corpus_stats, sequences) if have_inputs else None
    )
    write_figures(scores, points, deltas, record / "figures", encoder)
    write_text(status_markdown(record, config, deltas, summary, have_inputs), record / "STATUS.md")
    return deltas


def write_figures(
    scores: pd.DataFrame,
    fig4: tuple[pd.DataFrame, pd.DataFrame] | None,
    deltas: pd.DataFrame,
    out: Path,
    encoder: str,
) -> None:
    """Figs. 4-6 as the multitask report draws them, in the paper's metric (``word_io_f1`` where the report
    reads word F1), and our deltas against the printed ones."""
    from mtaal.results.multitask_report.figures import fig4_figure, fig5_figure, fig6_figure
    from mtaal.results.multitask_report.tables import fig5_data, table6_finetune

    paper_metric = scores.assign(word_f1=scores[WORD_IO])
    label = f"{encoder}; word F1 with B-/I- stripped, as printed"
    if fig4 is not None:
        fig4_figure(*fig4, out / "fig4_stl_correlation", label)
    fig5_figure(fig5_data(paper_metric), out / "fig5_entity_ablation", label)
    fig6_figure(table6_finetune(paper_metric), out / "fig6_finetune", label)
    deltas_figure(deltas, out / "fig_deltas", encoder)


def status_markdown(
    record: Path, config: Mapping, deltas: pd.DataFrame, summary: pd.DataFrame, have_inputs: bool
) -> str:
    sizes = train_subwords(record, None, config["multitask"]["encoder"])
    planned = planned_runs(config, sizes)
    done = recorded_keys(record)
    jobs = read_jobs(record, JOB_COLUMNS)
    lines = [
        f"# Record status: {sum(r.key in done for r in planned)} of {len(planned)} planned runs",
        "",
        f"Tier `{config.get('tier')}`, encoder `{config['multitask']['encoder']}`. Machine time in the "
        f"record: {jobs['epoch_seconds'].sum() / 3600:.2f} h of training epochs over {len(jobs)} runs, "
        f"every sitting counted ({jobs['wall_seconds'].sum() / 3600:.2f} h of job wall time, a resumed "
        "run's last sitting only).",
        "",
        "| stage | what | runs in | missing | predicted core-hours (wall on 2 cores) | recorded wall h "
        "(last sitting) | epoch h (all sittings) |",
        "|---|---|---|---|---|---|---|",
    ]
    walls = jobs.groupby("stage")["wall_seconds"].sum() / 3600 if len(jobs) else pd.Series(dtype=float)
    epoch_hours = jobs.groupby("stage")["epoch_seconds"].sum() / 3600 if len(jobs) else pd.Series(dtype=float)
    predicted = record_spec(record).get("predicted_hours") or {}
    for stage, what in STAGES.items():
        runs = [r for r in planned if r.stage == stage]
        if not runs:
            continue
        core, wall = predicted.get(stage, ("?", "?"))
        inside = sum(r.key in done for r in runs)
        lines.append(
            f"| {stage} | {what} | {inside} | {len(runs) - inside} | ~{core} (~{wall} h) | "
            f"{walls.get(stage, 0.0):.2f} | {epoch_hours.get(stage, 0.0):.2f} |"
        )
    lines += [
        "",
        "Predicted hours: `predicted_hours` in record.yaml (core-hours, wall hours on 2 cores), made before "
        "the stage's runs from the cost model it names; the recorded hours replace them as runs come in.",
        "",
        "## Deltas judged so far (deltas.md)",
        "",
    ]
    compared = summary[summary["n"] > 0]
    lines += [
        f"- {row.label}: {sign_agreement(row)} tasks share the paper's sign"
        + (f", Spearman rho {row.spearman_rho:+.2f}" if pd.notna(row.spearman_rho) else "")
        for row in compared.itertuples()
    ] or ["- none yet: no task has both runs of a delta"]
    lines += ["", "## Still missing (in the order `tools/reproduce_record.sh` runs them)", ""]
    missing = [r for r in planned if r.key not in done]
    lines += [f"- {r.stage} {r.key}" for r in missing] or ["- nothing: the record is complete"]
    if not have_inputs:
        lines += [
            "",
            "No corpus tables in `inputs/` yet (the first `mtaal record add` copies them): Table 1, "
            "Fig. 4 and the report/ folder wait for them.",
        ]
    return "\n".join(lines) + "\n"
