"""A committed reproduction record: long runs kept beside the code, so that their numbers outlive
``results/`` and a later checkout continues them instead of starting over.

Layout of a record directory (``reproductions/<name>/``)::

    store/paper=mtaal/experiment=curves/<run id>.parquet   the finished runs (results store schema)
    selections/<run id>.parquet                           each selected sentence: round, rank, id, words,
                                                          mentions (runs added with their selected ids)
    jobs.tsv                                              one line per run: wall time, memory, commit, machine
    provenance/config.yaml, packages.tsv                  the resolved config and package versions
    comparison.parquet, comparison.md                     the printed cells beside the runs
    annotation_cost.*, paired.*, runs.*                   F1 at equal labeled words; paired comparisons;
                                                          every run's final F1, take-off round and cost
    claims.parquet, claims.md                             the papers' claims judged on the record's runs
    figures/fig*.png                                      the paper's curves from the record's store
    STATUS.md                                             what is in the record and what is still missing

``add_runs`` moves finished runs of ``results/`` into the record; ``rebuild`` regenerates everything else
from the record's store alone (no run needed); ``missing_runs`` lists, in the order they should be run,
the runs a tier plans that the record lacks.

``record.yaml`` (:func:`record_spec`) says which paper's record a folder is, the tier its runs are of (a
config of another tier is refused: :func:`check_tier`), the config files that give it, and the claims the
record judges. A folder without it is an MTAAL record judged on claims 1-12 (:data:`DEFAULT_SPEC`). This
module is the MTAAL half and what both share (jobs lines from Snakemake benchmarks, provenance);
:mod:`mtaal.results.record_multitask` is the multitask paper's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import yaml

from mtaal.active.cost import fill_annotation_cost, replay_random_run, selection_rows
from mtaal.active.data import ALData, load_al_data
from mtaal.active.experiment import experiment_settings
from mtaal.active.identity import collect_rounds
from mtaal.active.loop import run_sample
from mtaal.active.metrics import COST_METRICS, QUERY_METRICS
from mtaal.active.settings import ALSettings
from mtaal.corpora.registry import load_registry
from mtaal.errors import MtaalError
from mtaal.io import write_parquet, write_text
from mtaal.planning import MtaalRun, mtaal_run_plan, study_runs
from mtaal.results import compare as C
from mtaal.results.claims import Context, claims_markdown, judge_claims
from mtaal.results.comparison_markdown import comparison_markdown
from mtaal.results.mtaal_cost import (
    equal_cost_markdown,
    equal_cost_table,
    paired_differences,
    paired_markdown,
    run_table,
    run_table_markdown,
)
from mtaal.results.mtaal_figures import write_figures
from mtaal.results.mtaal_tables import query_diversity
from mtaal.results.provenance import git_commit, machine_description, package_versions
from mtaal.results.store import mtaal_rows, read_store, rounds_from_store, write_run

STUDY = "curves"
RECORD_FILE = "record.yaml"
# A record without record.yaml is an MTAAL record from before records named their paper: judged on the
# claims the catalogue held when it was started (1-12), since a claim added later would move every Holm
# adjustment of its basis and with it the record's verdicts.
DEFAULT_SPEC = {"paper": "mtaal", "tier": None, "claims": list(range(1, 13))}
# The record's paired reading of MTAAL's printed lead (reproductions/ncbi-paper-scale/README.md):
# variant a - variant b.
PAIRED_COMPARISONS = [
    ("mtaal", "mtl-random"), ("mtaal", "mtl-entropy"), ("mtaal", "mtl-lc"),
    ("mtaal-word_dd", "mtaal"), ("mtaal-word_dd", "mtaal-no_dd-word_dd"), ("mtaal-word_dd", "mtl-random"),
    ("mtaal-word_dd", "mtl-entropy_max"), ("mtl-entropy_max", "mtl-entropy"),
    ("mtaal-no_dd-word_dd", "mtl-random"), ("mtl-lc", "mtl-random"), ("mtl-entropy", "mtl-random"),
    ("mtaal-release_vectors", "mtl-random-release_vectors"), ("mtaal-release_vectors", "mtaal"),
    ("mtl-random-release_vectors", "mtl-random"),
]
JOB_COLUMNS = ["run_id", "wall_seconds", "cpu_seconds", "max_rss_mb", "rounds", "commit", "machine", "tier"]


def record_spec(record: Path) -> dict:
    """The record's ``record.yaml`` (``paper``: mtaal / multitask; ``tier``: the tier its runs are of;
    ``claims``: the claim ids it judges; ``configs``: the config files that give the tier), over
    :data:`DEFAULT_SPEC`."""
    path = Path(record) / RECORD_FILE
    return {**DEFAULT_SPEC, **(yaml.safe_load(path.read_text()) if path.is_file() else {})}


def check_tier(record: Path, config: Mapping) -> dict:
    """The record's spec, after checking that the config gives the tier the record names."""
    spec = record_spec(record)
    if spec["tier"] and spec["tier"] != config.get("tier"):
        configs = " ".join(f"--config {c}" for c in spec.get("configs") or [])
        raise MtaalError(f"{record} records tier {spec['tier']}, the config gives tier {config.get('tier')}"
                         + (f": pass {configs}" if configs else ""))
    return spec


def planned_runs(config: Mapping) -> list[MtaalRun]:
    """The tier's curve runs, most wanted first (:func:`mtaal.planning.mtaal_run_plan`), so that a record
    cut off anywhere holds the most of a table."""
    return mtaal_run_plan(config["mtaal"], STUDY)


def seed_rank(run: MtaalRun, config: Mapping) -> int:
    """0 for its variant's first seed, 1 for the second, ..."""
    return study_runs(config["mtaal"], STUDY)[run.variant].index(run.seed)


def recorded_ids(record: Path) -> set[str]:
    return {path.stem for path in (Path(record) / "store").rglob("*.parquet")}


def missing_runs(record: Path, config: Mapping) -> list[MtaalRun]:
    done = recorded_ids(record)
    return [run for run in planned_runs(config) if run.run_id not in done]


def benchmark_columns(bench: Path) -> dict[str, float]:
    """A run's Snakemake benchmark TSV (its last line) as the record's wall / CPU / memory columns (NaN
    where the run left none)."""
    stats = pd.read_csv(bench, sep="\t").iloc[-1] if Path(bench).is_file() else {}
    return {
        "wall_seconds": float(stats.get("s", float("nan"))),
        "cpu_seconds": float(stats.get("cpu_time", float("nan"))),
        "max_rss_mb": float(stats.get("max_rss", float("nan"))),
    }


def job_origin(results: Path, tier: str) -> dict[str, str]:
    """The commit of the checkout that ran a run (the one holding ``results``), this machine, the tier."""
    return {"commit": git_commit(Path(results).resolve().parent), "machine": machine_description(),
            "tier": str(tier)}


def read_jobs(record: Path, columns: Sequence[str]) -> pd.DataFrame:
    path = Path(record) / "jobs.tsv"
    # A column added since the file was written reads as missing values.
    return (pd.read_csv(path, sep="\t").reindex(columns=list(columns)) if path.is_file()
            else pd.DataFrame(columns=list(columns)))


def with_job(jobs: pd.DataFrame, row: Mapping) -> pd.DataFrame:
    """``jobs`` with ``row`` in place of any earlier line of its run."""
    return pd.concat([jobs[jobs["run_id"] != row["run_id"]], pd.DataFrame([dict(row)])], ignore_index=True)


def _job_row(run: MtaalRun, results: Path, rows: pd.DataFrame) -> dict:
    origin = job_origin(results, rows["tier"].iat[0])
    return {"run_id": run.run_id, **benchmark_columns(run.benchmark_path(results)),
            "rounds": int(rows["step"].max()), **origin}


def add_runs(record: Path, results: Path, config: Mapping) -> list[str]:
    """Copy the tier's finished runs under ``results`` that the record lacks into it (store file + a
    ``jobs.tsv`` line). A run whose settings differ from a recorded run of the same id is refused."""
    record = Path(record)
    jobs = read_jobs(record, JOB_COLUMNS)
    added = []
    corpora: dict[str, ALData] = {}
    for run in missing_runs(record, config):
        path = run.rounds_path(results)
        if not path.is_file():
            continue
        frame = collect_rounds([path])
        if "selected_ids" in frame and frame["selected_ids"].notna().all():
            if run.dataset not in corpora:
                corpora[run.dataset] = _corpus(Path(results), run.dataset)
            data = run_sample(_settings(run, config), corpora[run.dataset])  # its initial labeled set
            if frame.reindex(columns=list(COST_METRICS)).isna().any(axis=None):
                frame = fill_annotation_cost(frame, data)
            write_parquet(pa.Table.from_pandas(selection_rows(frame, data, run.run_id), preserve_index=False),
                          record / "selections" / f"{run.run_id}.parquet")
        experiment, run_id, rows = mtaal_rows(path, frame)
        if run_id != run.run_id:
            raise ValueError(f"{path}: its rows say run {run_id}, its place says {run.run_id}")
        write_run(rows, record / "store", "mtaal", experiment, run_id)
        jobs = with_job(jobs, _job_row(run, results, rows))
        added.append(run_id)
    if added:
        write_text(jobs.to_csv(sep="\t", index=False), record / "jobs.tsv")
        write_provenance(record, config)
    return added


def recover_costs(record: Path, results: Path, config: Mapping) -> dict[str, str]:
    """Give the recorded random-strategy runs that lack their annotation cost their selections and cost,
    replayed from their settings and the corpus under ``results`` (:func:`replay_random_run`), when the
    replay's query statistics equal the run's own in every round; the scores are not touched. Returns
    run id -> what happened (recovered, or why not)."""
    record = Path(record)
    store = read_store(record / "store")
    mtaal = yaml.safe_load((record / "provenance" / "config.yaml").read_text())["mtaal"]
    corpora: dict[str, ALData] = {}
    outcome = {}
    for run_id, rows in store[store["paper"] == "mtaal"].groupby("run_id"):
        first = rows.iloc[0]
        if set(COST_METRICS) <= set(rows["metric"]):
            continue
        variant = mtaal["variants"][first["setting"]]
        if variant["strategy"] != "random" or variant["dd"]:
            outcome[run_id] = "not recoverable: its picks depend on the model (no selected ids recorded)"
            continue
        settings = experiment_settings(first["dataset"], first["model"], variant, mtaal[first["experiment"]],
                                       mtaal["model"], int(first["seed"]))
        if settings.settings_hash() != first["settings_hash"]:
            outcome[run_id] = "not recovered: the record's config no longer gives the run's settings hash"
            continue
        if first["dataset"] not in corpora:
            corpora[first["dataset"]] = _corpus(Path(results), first["dataset"])
        replay = replay_random_run(settings, corpora[first["dataset"]]).set_index("round")
        recorded = rows.pivot_table(index="step", columns="metric", values="value")
        checked = [m for m in QUERY_METRICS if m in recorded.columns]
        counts = rows.groupby("step")["labeled_count"].first()
        same = (replay.index.equals(recorded.index) and (replay["labeled_count"] == counts).all()
                and all((replay[m].astype(float) == recorded[m]).all() for m in checked))
        if not checked or not same:
            outcome[run_id] = ("not recovered: no query statistics recorded to check a replay against"
                               if not checked else "not recovered: the replay picks other sentences")
            continue
        cost = replay[list(COST_METRICS)].stack().rename("value").reset_index()
        cost.columns = ["step", "metric", "value"]
        template = rows[rows["metric"] == checked[0]].drop(columns=["metric", "value"]).set_index("step")
        added = template.join(cost.set_index("step"), how="inner").reset_index()
        write_run(pd.concat([rows, added], ignore_index=True), record / "store", "mtaal",
                  str(first["experiment"]), run_id)
        picks = selection_rows(replay.reset_index(), run_sample(settings, corpora[first["dataset"]]), run_id)
        write_parquet(pa.Table.from_pandas(picks, preserve_index=False),
                      record / "selections" / f"{run_id}.parquet")
        outcome[run_id] = (f"recovered: the replay's {len(checked)} query statistics equal the run's in "
                           f"all {len(counts)} rounds")
    return outcome


def _corpus(results: Path, dataset: str) -> ALData:
    folder = results / "corpora" / dataset
    return load_al_data(folder / "tokens.parquet", folder / "mtaal_split.parquet",
                        folder / "mtaal_labels.json")


def _settings(run: MtaalRun, config: Mapping) -> ALSettings:
    mtaal = config["mtaal"]
    return experiment_settings(run.dataset, run.embedding, mtaal["variants"][run.variant], mtaal[run.study],
                               mtaal["model"], run.seed)


def write_provenance(record: Path, config: Mapping) -> None:
    write_text(yaml.safe_dump(dict(config), sort_keys=False), record / "provenance" / "config.yaml")
    write_text(package_versions().to_csv(sep="\t", index=False), record / "provenance" / "packages.tsv")


def _printed_cells(reported: pd.DataFrame, config: Mapping, tables: Sequence[str]) -> pd.DataFrame:
    datasets = set(config["mtaal"]["datasets"])
    return reported[(reported["paper"] == "mtaal") & reported["table"].isin(tables)
                    & reported["dataset"].isin(datasets)].reset_index(drop=True)


def rebuild(record: Path, reported: pd.DataFrame, config: Mapping,
            tables: Sequence[str] = ("Table 2", "Table 3")) -> pd.DataFrame:
    """Comparison, figures and STATUS.md from the record's store alone. Returns the comparison."""
    record = Path(record)
    store = read_store(record / "store")
    printed = _printed_cells(reported, config, tables)
    rep = C.Reproduction(store=store, report_after_round=config["mtaal"]["report_after_round"])
    comparison = C.compare(printed, rep, str(config.get("tier", "")))
    write_parquet(pa.Table.from_pandas(comparison, preserve_index=False), record / "comparison.parquet")
    write_text(comparison_markdown(comparison, "mtaal", "MTAAL (Zhou et al. 2021)"),
               record / "comparison.md")
    if not store.empty:
        rounds = rounds_from_store(store)
        write_figures(rounds, record / "figures")
        after = config["mtaal"]["report_after_round"]
        cost = equal_cost_table(rounds, after)
        write_parquet(pa.Table.from_pandas(cost, preserve_index=False), record / "annotation_cost.parquet")
        write_text(equal_cost_markdown(cost, "F1 at equal annotation cost"), record / "annotation_cost.md")
        runs = run_table(rounds, after)
        write_parquet(pa.Table.from_pandas(runs, preserve_index=False), record / "runs.parquet")
        write_text(run_table_markdown(runs, "Every run: final F1, take-off and cost"), record / "runs.md")
        paired = paired_differences(rounds, after, PAIRED_COMPARISONS)
        write_parquet(pa.Table.from_pandas(paired, preserve_index=False), record / "paired.parquet")
        write_text(paired_markdown(paired, "Paired comparisons"), record / "paired.md")
        claims = judge_claims(_claims_context(store, rounds, config), reported, str(config.get("tier", "")),
                              record_spec(record)["claims"])
        write_parquet(pa.Table.from_pandas(claims, preserve_index=False), record / "claims.parquet")
        write_text(claims_markdown(claims), record / "claims.md")
    write_text(cells_markdown(comparison), record / "cells.md")
    write_text(status_markdown(record, config, comparison), record / "STATUS.md")
    return comparison


def _claims_context(store: pd.DataFrame, rounds: pd.DataFrame, config: Mapping) -> Context:
    """The claims judged on the record's runs alone (no multitask runs, so no Fig. 4 points)."""
    results = config["results"]
    return Context(store=store, report_after_round=config["mtaal"]["report_after_round"],
                   diversity=query_diversity(rounds), fig4_points=pd.DataFrame(), alpha=results["alpha"],
                   margin=results["equivalence_margin"], correlation_margin=results["correlation_margin"],
                   multitask_report="(no multitask runs in this record)",
                   registry_types=load_registry(checkout_path(config["corpus_registry"])).entity_types())


def checkout_path(path: str) -> Path:
    """A config path, relative to the checkout when not found from here (the CLI runs at its root)."""
    return Path(path) if Path(path).exists() else Path(__file__).resolve().parents[2] / path


def _says(row) -> str:
    if row.status != C.COMPARED:
        return "not yet run"
    if row.judgement == "within":
        return "within the interval"
    if row.judgement.startswith("no interval"):
        return f"one seed, {row.mean - row.reported:+.3f} from print"
    return {"printed above": "below print", "printed below": "above print"}.get(row.judgement, row.judgement)


def cells_markdown(comparison: pd.DataFrame) -> str:
    """One line per printed cell: printed, ours (mean, n, per seed), 95% PI, what it says, our strict
    metric and the all-O score (the table in the record's README)."""
    lines = ["| row | column | printed | ours (n) | per seed | 95% PI | says | strict metric | all-O |",
             "|---|---|---|---|---|---|---|---|---|"]
    for row in comparison.itertuples():
        done = row.status == C.COMPARED
        interval = f"[{row.pi95_low:.3f}, {row.pi95_high:.3f}]" if done and pd.notna(row.pi95_low) else ""
        seeds = ", ".join(f"{v:.3f}" for v in row.values) if done else ""
        lines.append(
            f"| {row.row} | {row.column} | {row.printed} | "
            + (f"{row.mean:.3f} ({int(row.n)})" if done else "–")
            + f" | {seeds} | {interval} | {_says(row)} | "
            + (f"{row.second_metric} {row.second_mean:.3f}" if done and row.second_metric else "")
            + f" | {'' if not done or pd.isna(row.all_o) else f'{row.all_o:.3f}'} |")
    return "\n".join(lines) + "\n"


def status_markdown(record: Path, config: Mapping, comparison: pd.DataFrame) -> str:
    planned, missing = planned_runs(config), missing_runs(record, config)
    jobs = read_jobs(record, JOB_COLUMNS)
    judged = comparison[comparison["status"] == C.COMPARED]["judgement"].value_counts()
    lines = [
        f"# Record status: {len(planned) - len(missing)} of {len(planned)} planned runs",
        "",
        f"Tier `{config.get('tier')}`. Machine time in the record: {jobs['wall_seconds'].sum() / 3600:.2f} h "
        f"wall over {len(jobs)} runs. Printed cells: {len(comparison)}, with runs: "
        f"{int((comparison['status'] == C.COMPARED).sum())} ("
        + (", ".join(f"{k}: {v}" for k, v in judged.items()) or "none") + ").",
        "",
        "## Still missing (in the order `tools/reproduce_record.sh` runs them)",
        "",
    ]
    lines += [f"- {run.run_id}" for run in missing] or ["- nothing: the record is complete"]
    selected = {path.stem for path in (Path(record) / "selections").glob("*.parquet")}
    recorded = sorted(recorded_ids(record))
    lacking = [run for run in recorded if run not in selected]
    lines += ["", "## Annotation cost", "",
              f"{len(recorded) - len(lacking)} of {len(recorded)} recorded runs have their selections and "
              "annotation cost (`selections/`, `annotation_cost.md`): runs added with their selected ids, "
              "and random runs replayed from their seeded stream where the replay's query statistics equal "
              "the run's (`mtaal record recover`). Without them (selected by the model before runs kept "
              "their ids, or a replay that could not be checked or did not match):", ""]
    lines += [f"- {run}" for run in lacking] or ["- none"]
    return "\n".join(lines) + "\n"
