"""``mtaal`` commands that read finished runs: MTAAL and multitask tables, the store and the comparison,
claims, figures, HTML pages and the committed reproduction records."""

from __future__ import annotations

import argparse
from pathlib import Path

from mtaal.cli.common import REPO_CONFIG, require, results_option
from mtaal.errors import MissingInputError, MtaalError


def _finished(planned: list[str]) -> list[Path]:
    return [Path(path) for path in planned if Path(path).is_file()]


def run_mtaal_tables(args: argparse.Namespace, config: dict) -> None:
    """The rules mtaal_tables and mtaal_figures over the config's MTAAL runs in the store (`mtaal store`)."""
    from mtaal.planning import mtaal_run_plan
    from mtaal.results.mtaal_figures import write_figures
    from mtaal.results.mtaal_tables import write_tables
    from mtaal.results.store import partition_path, read_store, rounds_from_store

    settings, option = config["mtaal"], results_option(args)
    partition = partition_path(args.results / "store", "mtaal")
    require({partition: f"mtaal store{option}"})
    store = read_store([partition])
    planned = {study: {run.run_id for run in mtaal_run_plan(settings, study)}
               for study in ("curves", "diversity")}
    store = store[[run in planned.get(study, ()) for study, run in zip(store["experiment"], store["run_id"],
                                                                         strict=True)]]
    done = {study: store.loc[store["experiment"] == study, "run_id"].nunique() for study in planned}
    # Tables 2-3 come from the curves, Table 4 from the diversity study: each from the runs it has
    if not any(done.values()):
        raise MissingInputError(f"no finished MTAAL run of the config in {partition} (make one with "
                                f"`mtaal active-learn <dataset> [--study diversity]{option}`, then "
                                f"`mtaal store{option}`)")
    tables = args.results / "mtaal" / "tables"
    rounds = rounds_from_store(store)
    write_tables(rounds, settings["report_after_round"],
                 {"rounds": tables / "rounds.parquet", "final": tables / "final_f1.parquet",
                  "final_md": tables / "final_f1.md", "diversity": tables / "query_diversity.parquet",
                  "diversity_md": tables / "query_diversity.md", "cost": tables / "annotation_cost.parquet",
                  "cost_md": tables / "annotation_cost.md"})
    print(f"wrote {tables}/: " + ", ".join(f"{study} {done[study]} of {len(planned[study])} runs"
                                           for study in planned))
    write_figures(rounds, args.results / "mtaal" / "figures")
    print(f"wrote {args.results}/mtaal/figures/")


def run_multitask_report(args: argparse.Namespace, config: dict, registry) -> None:
    """The rules wordpiece_table and multitask_report (over the runs in the results store's multitask
    partition: `mtaal store`)."""
    from mtaal.planning import huner_tasks

    settings = config["multitask"]
    encoder = args.encoder or settings["encoder"]
    if encoder not in settings["encoders"]:
        raise MtaalError(f"unknown encoder {encoder!r}; config multitask.encoders has: "
                         f"{', '.join(sorted(settings['encoders']))}")
    tables = args.results / "tables"
    sequences = tables / f"wordpiece_{encoder}.parquet"
    if args.command == "wordpiece-table":
        from mtaal.multitask.sequence_table import write_sequence_table

        # The HUNER tasks made so far (the rule: every task of the config), the config's first.
        folder, option = args.results / "wordpiece" / encoder, results_option(args)
        wanted = huner_tasks(config, registry)
        others = sorted(name for name, spec in registry.datasets.items()
                        if spec.paper == "huner" and name not in wanted)
        made = [task for task in [*wanted, *others] if (folder / f"{task}.parquet").is_file()]
        # none made: the config's tasks and their commands; else the made ones, checked readable
        require({folder / f"{task}.parquet": f"mtaal wordpiece {task} --encoder {encoder}{option}"
                 for task in made or wanted})
        table = write_sequence_table([folder / f"{task}.parquet" for task in made], sequences,
                                     sequences.with_suffix(".md"))
        left = [task for task in wanted if task not in made]
        print(f"wrote {sequences} and .md: {len(table)} rows, {len(made)} HUNER tasks"
              + (f"; not made yet ({len(left)} of the config's): {', '.join(left)}" if left else ""))
        return
    from mtaal.results.multitask_report import write_report
    from mtaal.results.store import partition_path

    store = partition_path(args.results / "store", "multitask")
    require({store: f"mtaal store{results_option(args)}",
             tables / "corpus_stats.parquet": f"mtaal corpus-stats{results_option(args)}",
             sequences: f"mtaal wordpiece-table --encoder {encoder}{results_option(args)}"})
    out = args.results / "multitask" / encoder / "report"
    scores = write_report(store, tables / "corpus_stats.parquet", sequences, out, encoder,
                          registry.entity_types())
    runs = scores.drop_duplicates(["experiment", "group", "fraction", "seed"])
    print(f"wrote {out}/ from {store}: {encoder}, {len(runs)} runs")


# The command that makes each report table (mtaal.results.report_tables.report_tables), by name prefix.
REPORT_COMMANDS = {"mtaal_": "mtaal-tables", "embedding_": "embeddings coverage",
                   "multitask_": "multitask-report", "comparison": "compare", "claims": "claims",
                   "annotation_": "figures", "corpus_": "corpus-stats"}


def run_stage5(args: argparse.Namespace, config: dict, registry) -> None:
    """The rules results_claims, annotation_curves with multitask_paper_figures, and report_table with
    provenance."""
    from mtaal.results.store import read_store

    root, option = args.results, results_option(args)
    store_dir, out = root / "store", root / "results"
    encoder, tier = config["multitask"]["encoder"], config["tier"]
    if args.command == "claims":
        from mtaal.results.claims import ClaimsInputs, outcome, write_claims

        # Table 4 and Fig. 4 come from the store, with the inputs the multitask report reads beside it.
        inputs = ClaimsInputs.from_config(config, root, registry.entity_types(), _reported_paths(config))
        require({store_dir: f"mtaal store{option}", inputs.corpus_stats: f"mtaal corpus-stats{option}",
                 inputs.sequences: f"mtaal wordpiece-table --encoder {encoder}{option}"})
        claims = write_claims(inputs, out / "claims.parquet", out / "claims.md")
        counts = claims.assign(outcome=claims["verdict"].map(outcome)).groupby(["basis", "outcome"]).size()
        print(f"wrote {out}/claims.parquet and claims.md: " + "; ".join(
            f"{basis}: " + ", ".join(f"{n} {what}" for what, n in per_basis.droplevel(0).items())
            for basis, per_basis in counts.groupby(level=0)))
    elif args.command == "figures":
        from mtaal.results.figures import write_annotation_curves
        from mtaal.results.paper_figures import write_paper_figures

        require({store_dir: f"mtaal store{option}"})
        store = read_store(store_dir)
        write_annotation_curves(store, config["results"]["shared_datasets"],
                                out / "annotation_curves.parquet",
                                [out / "annotation_curves.png", out / "annotation_curves.svg"], tier)
        write_paper_figures(store, out / "fig5_entity_ablation.parquet",
                            [out / "fig5_entity_ablation.png", out / "fig5_entity_ablation.svg"],
                            out / "fig6_finetune_groups.parquet",
                            [out / "fig6_finetune_groups.png", out / "fig6_finetune_groups.svg"],
                            f"tier {tier}, encoder {encoder}")
        print(f"wrote {out}/annotation_curves.*, fig5_entity_ablation.*, fig6_finetune_groups.*")
    else:
        from mtaal.results.provenance import write_provenance, write_table_page
        from mtaal.results.report_tables import report_tables

        sources = {name: Path(entry[0]) for name, entry in report_tables(encoder, str(root)).items()}
        present = {name: path for name, path in sources.items() if path.is_file()}
        if not present:
            raise MissingInputError(f"no table to render under {root} (make them with `mtaal corpus-stats`, "
                                    f"`mtaal mtaal-tables`, `mtaal compare` ...{option})")
        pages = root / "report"
        for name, path in present.items():
            write_table_page(path, name.replace("_", " "), pages / "tables" / f"{name}.html")
        write_provenance(config, REPO_CONFIG.parent, root / "benchmarks", pages / "provenance.html",
                         pages / "benchmarks.parquet", pages / "benchmarks.html")
        absent = [f"{name} (`mtaal {next(c for p, c in REPORT_COMMANDS.items() if name.startswith(p))}`)"
                  for name in sources if name not in present]
        print(f"wrote {pages}/: {len(present)} table pages, provenance.html, benchmarks.*"
              + (f"; not made yet: {', '.join(absent)}" if absent else ""))


def _reported_paths(config: dict) -> list[Path]:
    """config results.reported, relative paths being the checkout's."""
    return [REPO_CONFIG.parent / path for path in config["results"]["reported"]]  # an absolute path stays


def run_record(args: argparse.Namespace, config: dict) -> None:
    from mtaal.results import record as R
    from mtaal.results.compare import load_reported

    if R.check_tier(args.record, config)["paper"] == "multitask":
        _run_multitask_record(args, config)
        return
    if args.action == "progress":
        raise MtaalError("record progress reads transformer epoch checkpoints; for an MTAAL record, "
                         "`record missing` lists the runs it lacks")
    if args.action == "missing":
        for run in R.missing_runs(args.record, config):
            if args.rank is None or R.seed_rank(run, config) == args.rank:
                print(run.rounds_path(args.results))
    elif args.action == "add":
        added = R.add_runs(args.record, args.results, config)
        print(f"{args.record}: {len(added)} runs added" + "".join(f"\n  {run}" for run in added))
    elif args.action == "recover":
        for run, outcome in R.recover_costs(args.record, args.results, config).items():
            print(f"{run}: {outcome}")
    else:
        reported = load_reported(_reported_paths(config))
        comparison = R.rebuild(args.record, reported, config)
        print(f"{args.record}: {len(comparison)} printed cells compared; see STATUS.md, comparison.md")


def _run_multitask_record(args: argparse.Namespace, config: dict) -> None:
    """`mtaal record` on a multitask record (its record.yaml says paper: multitask)."""
    from mtaal.results import record_multitask as M
    from mtaal.results.compare import load_reported

    if args.action == "missing":
        seeds = list(config["multitask"]["seeds"])
        for run in M.missing_runs(args.record, config, args.results):
            if args.rank is None or seeds.index(run.seed) == args.rank:
                print(run.best_path(args.results))
    elif args.action == "add":
        added, refused = M.add_runs(args.record, args.results, config)
        print(f"{args.record}: {len(added)} runs added" + "".join(f"\n  {run}" for run in added)
              + "".join(f"\n  not added: {why}" for why in refused))
    elif args.action == "progress":
        print("\n".join(M.progress(args.record, config, args.results)) or f"{args.record}: complete")
    elif args.action == "recover":
        raise MtaalError("record recover replays MTAAL random runs; a multitask record has none")
    else:
        deltas = M.rebuild(args.record, load_reported(_reported_paths(config)), config)
        compared = int((deltas["status"] == "compared").sum())
        print(f"{args.record}: {compared} of {len(deltas)} per-task deltas compared; see STATUS.md, "
              "deltas.md")


def run_results(args: argparse.Namespace, config: dict, registry) -> None:
    """The rules ``results_store`` / ``results_compare`` over whatever runs RESULTS holds (a partial tier
    too: a printed cell without runs is listed with its reason)."""
    import pandas as pd

    from mtaal.planning import planned_multitask_runs
    from mtaal.results import compare as C
    from mtaal.results.comparison_markdown import write_comparison
    from mtaal.results.store import read_store, write_store

    root = args.results
    splits = {d: root / "corpora" / d / "mtaal_split.parquet" for d in config["mtaal"]["datasets"]}
    splits = {d: path for d, path in splits.items() if path.is_file()}
    store_dir = root / "store"
    if args.command == "store":
        studies = [s for s in ("curves", "diversity") if s in config["mtaal"]]
        rounds = sorted(p for p in (root / "mtaal").glob("*/*/*/*/seed*/rounds.parquet")
                        if p.parts[-6] in studies and p.parts[-5] in splits)
        # The config's planned runs of every encoder, and those `mtaal multitask-run` wrote under cli/.
        runs = [Path(p).parent for encoder in config["multitask"]["encoders"]
                for p in planned_multitask_runs(config, registry, encoder, str(root)) if Path(p).is_file()]
        runs += sorted(p.parent for p in (root / "multitask").glob("*/cli/*/ablation*/seed*/best.json"))
        if not rounds and not runs:
            raise MissingInputError(f"no finished run under {root}/mtaal or {root}/multitask (make one with "
                                    f"`mtaal active-learn`{results_option(args)}, or the workflow's rules "
                                    "multitask_stl / _mtl / _mtl_without / _finetune)")
        written = write_store(store_dir, rounds, runs)
        print(f"{store_dir}: {len(written)} run files ({len(rounds)} MTAAL, {len(runs)} transformer runs)")
        return
    require({store_dir: f"mtaal store{results_option(args)}"})
    tables = root / "tables"

    def optional(path: Path) -> pd.DataFrame | None:
        return pd.read_parquet(path) if path.is_file() else None

    sequences = [optional(p) for p in sorted(tables.glob("wordpiece_*.parquet"))]
    preferred = [t for t in sequences if t is not None and t["encoder"].str.startswith("biobert").any()]
    reproduction = C.Reproduction(
        store=read_store(store_dir),
        report_after_round=config["mtaal"]["report_after_round"],
        corpus_stats=optional(tables / "corpus_stats.parquet"),
        coverage=optional(tables / "corpus_coverage.parquet"),
        sequences=(preferred or [t for t in sequences if t is not None] or [None])[0],
        mtaal_sentences=C.mtaal_sentence_counts(splits),
        registry_types=registry.entity_types(),
    )
    reported = C.load_reported(_reported_paths(config))
    out = root / "results"
    table = write_comparison(reproduction, reported, config["tier"], out / "comparison.parquet",
                               out / "comparison_mtaal.md", out / "comparison_multitask.md")
    counts = table["status"].value_counts().to_dict()
    print(f"wrote {out}/comparison.parquet and comparison_{{mtaal,multitask}}.md: {counts}")
