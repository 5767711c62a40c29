"""``mtaal`` command line: the workflow's main steps without Snakemake.

Examples::

    mtaal download ncbi_disease --mirror ../shared/corpora
    mtaal build-dataset ncbi_disease
    mtaal mtaal-split ncbi_disease
    mtaal embeddings                    # config mtaal.embeddings as .kv files, then their coverage
    mtaal active-learn ncbi_disease --variant mtaal --embedding glove --seed 1   # one MTAAL run
    mtaal mtaal-tables                  # MTAAL Tables 2-4 and Figs. 6-8 from the runs there are
    mtaal wordpiece cdr_chemical && mtaal multitask-run cdr_chemical --fraction 0.5   # one transformer run
    mtaal wordpiece-table && mtaal multitask-report   # the multitask paper's tables and figures
    mtaal store && mtaal compare        # the results store, then every printed cell beside it
    mtaal claims && mtaal figures && mtaal report   # claim verdicts, cross-paper figures, HTML pages
    mtaal --config config/tiers/paper.yaml --config config/tiers/reproduce-ncbi.yaml \
        record rebuild reproductions/ncbi-paper-scale   # a committed record's comparison and figures
    mtaal check-config config/config.yaml config/tiers/tiny.yaml
    mtaal init my_project --entity-types disease --concepts   # then add-text, add-labels, train, query
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

import yaml

from mtaal.config import check_config
from mtaal.errors import MissingInputError, MtaalError

REPO_CONFIG = Path(__file__).resolve().parents[1] / "config"


def load_config(paths: list[Path]) -> dict:
    """Merge YAML config files left to right (later keys win, nested mappings merge) and validate."""
    import jsonschema

    config: dict = {}
    for path in paths:
        _merge(config, yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {})
    schema = yaml.safe_load((REPO_CONFIG / "schema" / "config.schema.yaml").read_text(encoding="utf-8"))
    try:
        jsonschema.validate(config, schema)
    except jsonschema.ValidationError as error:
        key = ".".join(str(part) for part in error.absolute_path) or "(top level)"
        raise MtaalError(f"config key {key}: {error.message}") from None
    check_config(config)
    return config


def _merge(base: dict, update: dict) -> None:
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


ENCODER_HELP = "a key of config multitask.encoders (default: multitask.encoder)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mtaal", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--config",
        type=Path,
        action="append",
        help="config file(s), merged in order (default: config/config.yaml)",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    download = commands.add_parser("download", help="fetch and verify one corpus")
    download.add_argument("corpus")
    download.add_argument("--mirror", help="mirror directory (default: config, then $MTAAL_CORPUS_MIRROR)")
    download.add_argument("--results", type=Path, default=Path("results"))

    build = commands.add_parser("build-dataset", help="raw corpus -> tidy parquet tables for one dataset")
    build.add_argument("dataset")
    build.add_argument("--mirror", help="for the HUNER split lists / patches it needs (default: the mirror "
                       "the corpus came from, then config, then $MTAAL_CORPUS_MIRROR)")
    build.add_argument("--results", type=Path, default=Path("results"))

    split = commands.add_parser("mtaal-split", help="labeled / unlabeled / test sentence pool for MTAAL")
    split.add_argument("dataset")
    split.add_argument("--results", type=Path, default=Path("results"))

    stats = commands.add_parser("corpus-stats", help="statistics and coverage over built datasets")
    stats.add_argument("--results", type=Path, default=Path("results"))

    embeddings = commands.add_parser("embeddings", help="word vectors (results/embeddings/<name>.kv) and "
                                     "their coverage of the MTAAL datasets")
    embeddings.add_argument("which", nargs="*", metavar="NAME",
                            help="word2vec, glove, user (config mtaal.user_vectors) or coverage (default: "
                                 "config mtaal.embeddings, then coverage)")
    embeddings.add_argument("--mirror", help="embedding_source pretrained: mirror holding embeddings/<file> "
                            "(default: config, then $MTAAL_CORPUS_MIRROR)")
    embeddings.add_argument("--results", type=Path, default=Path("results"))

    learn = commands.add_parser("active-learn", help="one MTAAL active-learning run (resumes)")
    learn.add_argument("dataset", help="ncbi_disease or bc5cdr (built with build-dataset and mtaal-split)")
    learn.add_argument("--variant", default="mtaal", help="a key of config mtaal.variants (default: mtaal)")
    learn.add_argument("--embedding", default="glove", help="word2vec, glove or user (results/embeddings/)")
    learn.add_argument("--seed", type=int, default=1)
    learn.add_argument("--study", default="curves", choices=["curves", "diversity"])
    learn.add_argument("--results", type=Path, default=Path("results"))

    tables = commands.add_parser("mtaal-tables", help="MTAAL tables (F1 after N rounds, query diversity) and "
                                 "figures from the config's runs that have finished")
    tables.add_argument("--results", type=Path, default=Path("results"))

    wordpiece = commands.add_parser("wordpiece", help="tidy tokens -> WordPiece sequences for one dataset")
    wordpiece.add_argument("dataset")
    wordpiece.add_argument("--encoder", help=ENCODER_HELP)
    wordpiece.add_argument("--results", type=Path, default=Path("results"))

    multitask = commands.add_parser(
        "multitask-run", help="one transformer run: one task (single-task) or several (multi-task)"
    )
    multitask.add_argument("tasks", nargs="+", help="HUNER tasks (built with build-dataset and wordpiece)")
    multitask.add_argument("--encoder", help=ENCODER_HELP)
    multitask.add_argument("--fraction", type=float, default=0.0, help="share of training sequences removed")
    multitask.add_argument("--seed", type=int, default=1)
    multitask.add_argument("--init-encoder", type=Path, help="start from this saved encoder (fine-tuning)")
    multitask.add_argument("--results", type=Path, default=Path("results"))

    sequence_table = commands.add_parser("wordpiece-table", help="WordPiece sequence counts of every HUNER "
                                         "task (results/tables/wordpiece_<encoder>.*)")
    sequence_table.add_argument("--encoder", help=ENCODER_HELP)
    sequence_table.add_argument("--results", type=Path, default=Path("results"))
    report = commands.add_parser("multitask-report", help="the multitask paper's tables and figures from the "
                                 "config's transformer runs that have finished")
    report.add_argument("--encoder", help=ENCODER_HELP)
    report.add_argument("--results", type=Path, default=Path("results"))

    store = commands.add_parser("store", help="every finished run under RESULTS into the results store")
    store.add_argument("--results", type=Path, default=Path("results"))
    compare = commands.add_parser("compare", help="every printed cell of both papers beside the store's runs")
    compare.add_argument("--results", type=Path, default=Path("results"))

    claims = commands.add_parser("claims", help="each claim of both papers judged on the store and on the "
                                 "printed numbers")
    claims.add_argument("--results", type=Path, default=Path("results"))
    figures = commands.add_parser("figures", help="from the store: the cross-paper annotation curves and the "
                                  "multitask paper's Figs. 5-6 as printed")
    figures.add_argument("--results", type=Path, default=Path("results"))
    pages = commands.add_parser("report", help="HTML pages of every table there is, provenance and "
                                "benchmarks (results/report/)")
    pages.add_argument("--results", type=Path, default=Path("results"))

    record = commands.add_parser("record", help="a committed reproduction record (reproductions/<name>): "
                                 "missing runs, add finished ones, rebuild its tables and figures")
    record.add_argument("action", choices=["missing", "add", "rebuild"],
                        help="missing: print the rounds files still to run (one per line, the most wanted "
                             "first); add: finished runs under RESULTS into the record; rebuild: comparison, "
                             "figures and STATUS.md from the record's store alone")
    record.add_argument("record", type=Path, help="the record directory")
    record.add_argument("--results", type=Path, default=Path("results"))
    record.add_argument("--rank", type=int, default=None,
                        help="missing: only the runs at this seed rank (0: each variant's first seed)")

    check = commands.add_parser("check-config", help="merge and validate config files")
    check.add_argument("files", type=Path, nargs="+")
    _curate_parsers(commands)
    return parser


CURATE_COMMANDS = ("init", "add-text", "add-labels", "train", "query", "status")


def _curate_parsers(commands: argparse._SubParsersAction) -> None:
    """Active learning on your own corpus (mtaal.curate)."""
    init = commands.add_parser("init", help="curator project: create a folder with a manifest")
    init.add_argument("project", type=Path)
    init.add_argument("--entity-types", required=True, help="comma-separated, e.g. disease,chemical")
    init.add_argument("--concepts", nargs="?", const=True, default=False, metavar="FILE",
                      help="normalise to concept ids too (NEN); FILE: the ids allowed, one per line")
    text = commands.add_parser("add-text", help="curator project: add unlabeled text to the pool")
    text.add_argument("project", type=Path)
    text.add_argument("files", type=Path, nargs="+")
    text.add_argument("--format", default="auto", choices=["auto", "text", "pubtator", "bioc"])
    text.add_argument("--one-per-line", action="store_true", help="plain text: one document per line")
    labels = commands.add_parser("add-labels", help="curator project: import annotated sentences")
    labels.add_argument("project", type=Path)
    labels.add_argument("files", type=Path, nargs="+")
    labels.add_argument("--format", default="auto", choices=["auto", "conll", "pubtator", "brat"])
    labels.add_argument("--map-types", help="source entity types to project types, e.g. "
                        "SpecificDisease=disease,DiseaseClass=disease")
    train = commands.add_parser("train", help="curator project: train the model on the labeled sentences")
    train.add_argument("project", type=Path)
    train.add_argument("--fresh", action="store_true", help="new model from the current config.yaml")
    query = commands.add_parser("query", help="curator project: the next sentences to annotate")
    query.add_argument("project", type=Path)
    query.add_argument("-k", type=int, default=50, help="batch size (default 50)")
    query.add_argument("--strategy", choices=["diversity", "lc", "entropy", "mnlp", "random"],
                       help="default: config.yaml strategy")
    status = commands.add_parser("status", help="curator project: summary and history")
    status.add_argument("project", type=Path)


# oneDNN caches one compiled kernel per input shape (default 1024): scoring a large pool meets hundreds of
# (batch, length) shapes and the cache alone grew `query`'s RSS by ~300 MiB at 100k sentences. 64 kernels
# keep memory flat at no measured cost in time (benchmarks/curate_query.py). Read by oneDNN at first use.
KERNEL_CACHE_CAPACITY = "64"


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", KERNEL_CACHE_CAPACITY)
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        _run(args)
    except MtaalError as error:
        print(f"mtaal: error: {error}", file=sys.stderr)
        return 2
    except FileNotFoundError as error:  # a user's path; the steps' own inputs are checked by require()
        print(f"mtaal: error: {error.filename or error}: no such file", file=sys.stderr)
        return 2
    return 0


def require(needed: dict[Path, str]) -> None:
    """Stop naming each missing input and the command that makes it: {path: command}."""
    missing = [f"{path} (make it with `{command}`)" for path, command in needed.items() if not path.exists()]
    if missing:
        raise MissingInputError(f"missing input: {'; '.join(missing)}")


def _option(args: argparse.Namespace) -> str:
    """The --results option to repeat in a suggested command (none for the default)."""
    return "" if args.results == Path("results") else f" --results {args.results}"


def _run(args: argparse.Namespace) -> None:
    from mtaal.corpora.registry import load_registry

    if args.command in CURATE_COMMANDS:
        _curate(args)
        return
    if args.command == "check-config":
        config = load_config(args.files)
        print(f"valid: tier {config['tier']}, {len(config['datasets'])} datasets")
        return
    config = load_config(args.config or [REPO_CONFIG / "config.yaml"])
    registry_path = Path(config["corpus_registry"])
    if not registry_path.is_absolute() and not registry_path.exists():
        # Relative paths in the shipped config refer to the checkout, wherever the command runs.
        registry_path = REPO_CONFIG.parent / registry_path
    registry = load_registry(registry_path)
    for name in [getattr(args, "dataset", None), *getattr(args, "tasks", [])]:
        if name is not None:
            registry.dataset(name)  # an unknown name stops here, listing the known ones
    raw = args.results / "raw"
    if args.command == "download":
        from mtaal.corpora.download import DownloadPolicy, download_corpus, resolve_mirror

        status = download_corpus(
            registry.corpus(args.corpus),
            raw / args.corpus,
            resolve_mirror(args.mirror or config["corpus_mirror"]),
            config["on_missing_corpus"],
            config["allow_unpinned_downloads"],
            DownloadPolicy.from_config(config["downloads"]),
        )
        print(f"{args.corpus}: {status['status']} {status['reason']}")
    elif args.command == "build-dataset":
        from mtaal.corpora.build import build_dataset

        corpus = registry.dataset(args.dataset).corpus
        require({raw / corpus / "download.json": f"mtaal download {corpus}{_option(args)}"})
        _fetch_helpers(args, config, registry, registry.dataset(args.dataset), raw)
        summary = build_dataset(
            registry,
            args.dataset,
            raw / corpus,
            raw / "huner_splits" / "files",
            args.results / "corpora" / args.dataset,
            patches_dir=raw / "huner_patches" / "files" if config["apply_huner_patches"] else None,
            max_documents_per_split=config["max_documents_per_split"],
        )
        print(summary)
    elif args.command == "mtaal-split":
        from mtaal.corpora.mtaal_split import build_mtaal_split

        folder = args.results / "corpora" / args.dataset
        require({folder / "tokens.parquet": f"mtaal build-dataset {args.dataset}{_option(args)}"})
        pool = build_mtaal_split(
            folder / "tokens.parquet",
            folder / "mtaal_split.parquet",
            folder / "mtaal_labels.json",
            config["mtaal_data"],
        )
        print(pool["split"].value_counts().to_dict())
    elif args.command == "active-learn":
        _active_learn(args, config)
    elif args.command in ("wordpiece", "multitask-run"):
        _multitask(args, config, registry)
    elif args.command in ("store", "compare"):
        _results(args, config)
    elif args.command == "embeddings":
        _embeddings(args, config)
    elif args.command == "mtaal-tables":
        _mtaal_tables(args, config)
    elif args.command in ("wordpiece-table", "multitask-report"):
        _multitask_report(args, config, registry)
    elif args.command in ("claims", "figures", "report"):
        _stage5(args, config)
    elif args.command == "record":
        _record(args, config)
    elif args.command == "corpus-stats":
        from mtaal.corpora.stats import write_corpus_tables

        summaries = sorted((args.results / "corpora").glob("*/summary.json"))
        if not summaries:
            raise MissingInputError(f"no built dataset: {args.results / 'corpora'}/*/summary.json is missing "
                                    f"(make one with `mtaal build-dataset <dataset>{_option(args)}`)")
        tables = args.results / "tables"
        write_corpus_tables(
            summaries,
            tables / "corpus_stats.parquet",
            tables / "corpus_stats.md",
            tables / "corpus_coverage.parquet",
            tables / "corpus_coverage.md",
        )
        print(f"wrote {tables}/corpus_stats.* and corpus_coverage.*")


def _active_learn(args: argparse.Namespace, config: dict) -> None:
    from mtaal.active.experiment import experiment_settings, run_experiment

    settings = config["mtaal"]
    if args.variant not in settings["variants"]:
        known = ", ".join(sorted(settings["variants"]))
        raise MtaalError(f"unknown variant {args.variant!r}; config mtaal.variants has: {known}")
    corpus_dir = args.results / "corpora" / args.dataset
    split = f"mtaal mtaal-split {args.dataset}{_option(args)}"
    require({corpus_dir / "tokens.parquet": f"mtaal build-dataset {args.dataset}{_option(args)}",
             corpus_dir / "mtaal_split.parquet": split, corpus_dir / "mtaal_labels.json": split})
    vectors = args.results / "embeddings" / f"{args.embedding}.kv"
    if not vectors.is_file():
        if args.embedding != "glove" or config["mtaal"]["embedding_source"] != "substitute":
            require({vectors: f"mtaal embeddings {args.embedding}{_option(args)}"})
        from mtaal.embeddings import load_glove_package

        load_glove_package(vectors)
    run_name = f"{args.study}/{args.dataset}/{args.embedding}/{args.variant}/seed{args.seed}"
    run = experiment_settings(args.dataset, args.embedding, settings["variants"][args.variant],
                              settings[args.study], settings["model"], args.seed)
    rounds = run_experiment(run, corpus_dir, vectors,
                            args.results / "mtaal" / run_name / "rounds.parquet",
                            args.results / "mtaal" / "checkpoints" / f"{run_name}.safetensors",
                            identity={"paper": "mtaal", "experiment": args.study, "variant": args.variant,
                                      "tier": config.get("tier")})
    print(rounds[["round", "labeled_count", "ner_f1", "nen_f1"]].to_string(index=False))


def _embeddings(args: argparse.Namespace, config: dict) -> None:
    """The rules word2vec and glove (embedding_source substitute) or pretrained_vectors, user_vectors and
    embedding_coverage."""
    from mtaal import embeddings as E

    settings = config["mtaal"]
    folder = args.results / "embeddings"
    known = ["word2vec", "glove", "user", "coverage"]
    for name in args.which:
        if name not in known:
            raise MtaalError(f"unknown embedding {name!r}: expected {', '.join(known)}")

    def tokens(datasets: list[str]) -> list[Path]:
        paths = {d: args.results / "corpora" / d / "tokens.parquet" for d in datasets}
        require({path: f"mtaal build-dataset {d}{_option(args)}" for d, path in paths.items()})
        return list(paths.values())

    for name in args.which or [*settings["embeddings"], "coverage"]:
        out = folder / f"{name}.kv"
        if name == "coverage":
            vectors = {e: folder / f"{e}.kv" for e in settings["embeddings"]}
            require({path: f"mtaal embeddings {e}{_option(args)}" for e, path in vectors.items()})
            tables = args.results / "tables"
            table = E.write_coverage(vectors, dict(zip(settings["datasets"], tokens(settings["datasets"]),
                                                       strict=True)),
                                     tables / "embedding_coverage.parquet", tables / "embedding_coverage.md")
            print(f"wrote {tables}/embedding_coverage.parquet and .md: {len(table)} rows")
            continue
        if name == "user":
            user = settings["user_vectors"]
            if not user:
                raise MtaalError("config mtaal.user_vectors is not set ({path: FILE, binary: null}): no user "
                                 "vectors to convert")
            E.load_user_vectors(Path(user["path"]), user.get("binary"), out, limit=None,
                                unicode_errors="strict")
        elif settings["embedding_source"] == "pretrained":
            from mtaal.corpora.download import resolve_mirror

            if name not in settings["pretrained_vectors"]:
                raise MtaalError(f"config mtaal.pretrained_vectors has no entry {name!r}")
            E.write_pretrained_vectors(settings["pretrained_vectors"][name],
                                       args.results / "raw" / "embeddings", tokens(settings["datasets"]), out,
                                       folder / f"{name}.json",
                                       mirror=resolve_mirror(args.mirror or config["corpus_mirror"]),
                                       allow_unpinned=config["allow_unpinned_downloads"])
        elif name == "word2vec":
            E.train_word2vec(tokens(config["datasets"]), out, workers=1, **settings["word2vec"])
        else:
            E.load_glove_package(out)
        print(f"wrote {out}")


def _finished(planned: list[str]) -> list[Path]:
    return [Path(path) for path in planned if Path(path).is_file()]


def _mtaal_tables(args: argparse.Namespace, config: dict) -> None:
    """The rules mtaal_tables and mtaal_figures over the config's MTAAL runs that have finished."""
    from mtaal.active.report import collect_rounds, sentence_tokens, write_figures, write_tables
    from mtaal.workflow import planned_mtaal_runs

    settings = config["mtaal"]
    planned = {study: planned_mtaal_runs(settings, study, str(args.results))
               for study in ("curves", "diversity")}
    done = {study: _finished(paths) for study, paths in planned.items()}
    for study, runs in done.items():  # Tables 2-3 come from the curves, Table 4 from the diversity study
        if not runs:
            raise MissingInputError(f"no finished MTAAL {study} run of the config under {args.results}/mtaal "
                                    f"(make one with `mtaal active-learn <dataset> --study {study}"
                                    f"{_option(args)}`)")
    tokens = {d: args.results / "corpora" / d / "tokens.parquet" for d in settings["datasets"]}
    require({path: f"mtaal build-dataset {d}{_option(args)}" for d, path in tokens.items()})
    tables = args.results / "mtaal" / "tables"
    rounds = collect_rounds(done["curves"] + done["diversity"])
    write_tables(rounds, {d: sentence_tokens(path) for d, path in tokens.items()},
                 settings["report_after_round"],
                 {"rounds": tables / "rounds.parquet", "final": tables / "final_f1.parquet",
                  "final_md": tables / "final_f1.md", "diversity": tables / "query_diversity.parquet",
                  "diversity_md": tables / "query_diversity.md"})
    print(f"wrote {tables}/: " + ", ".join(f"{study} {len(done[study])} of {len(planned[study])} runs"
                                           for study in planned))
    write_figures(collect_rounds(done["curves"]), args.results / "mtaal" / "figures")
    print(f"wrote {args.results}/mtaal/figures/")


def _multitask_report(args: argparse.Namespace, config: dict, registry) -> None:
    """The rules wordpiece_table and multitask_report (over the config's transformer runs that have
    finished)."""
    from mtaal.workflow import huner_tasks, planned_multitask_runs

    settings = config["multitask"]
    encoder = args.encoder or settings["encoder"]
    if encoder not in settings["encoders"]:
        raise MtaalError(f"unknown encoder {encoder!r}; config multitask.encoders has: "
                         f"{', '.join(sorted(settings['encoders']))}")
    tables = args.results / "tables"
    sequences = tables / f"wordpiece_{encoder}.parquet"
    if args.command == "wordpiece-table":
        from mtaal.multitask.sequence_table import write_sequence_table

        data = {task: args.results / "wordpiece" / encoder / f"{task}.parquet"
                for task in huner_tasks(config, registry)}
        require({path: f"mtaal wordpiece {task} --encoder {encoder}{_option(args)}"
                 for task, path in data.items()})
        table = write_sequence_table(list(data.values()), sequences, sequences.with_suffix(".md"))
        print(f"wrote {sequences} and .md: {len(table)} rows")
        return
    from mtaal.multitask.report import write_report

    planned = planned_multitask_runs(config, registry, encoder, str(args.results))
    done = _finished(planned)
    if not done:
        raise MissingInputError(
            f"no finished transformer run of the config under {args.results}/multitask/{encoder} (the "
            "workflow's rules multitask_stl / _mtl / _mtl_without / _finetune make them: `snakemake "
            "multitask`; `mtaal multitask-run` writes its runs under cli/, which the report does not read)")
    require({tables / "corpus_stats.parquet": f"mtaal corpus-stats{_option(args)}",
             sequences: f"mtaal wordpiece-table --encoder {encoder}{_option(args)}"})
    out = args.results / "multitask" / encoder / "report"
    write_report(done, tables / "corpus_stats.parquet", sequences, out)
    print(f"wrote {out}/: {len(done)} of {len(planned)} runs")


# The command that makes each report table (mtaal.workflow.report_tables), by name prefix.
REPORT_COMMANDS = {"mtaal_": "mtaal-tables", "embedding_": "embeddings coverage",
                   "multitask_": "multitask-report", "comparison": "compare", "claims": "claims",
                   "annotation_": "figures", "corpus_": "corpus-stats"}


def _stage5(args: argparse.Namespace, config: dict) -> None:
    """The rules results_claims, annotation_curves with multitask_paper_figures, and report_table with
    provenance."""
    from mtaal.results.store import read_store

    root, option = args.results, _option(args)
    store_dir, out = root / "store", root / "results"
    encoder, tier = config["multitask"]["encoder"], config["tier"]
    if args.command == "claims":
        from mtaal.results.claims import outcome, write_claims

        report = root / "multitask" / encoder / "report"
        diversity = root / "mtaal" / "tables" / "query_diversity.parquet"
        require({store_dir: f"mtaal store{option}", diversity: f"mtaal mtaal-tables{option}",
                 report / "fig4_stl_correlation.parquet": f"mtaal multitask-report{option}"})
        results = config["results"]
        claims = write_claims(store_dir, diversity, report, _reported_paths(config),
                              {"report_after_round": config["mtaal"]["report_after_round"],
                               "alpha": results["alpha"], "margin": results["equivalence_margin"],
                               "correlation_margin": results["correlation_margin"]},
                              tier, out / "claims.parquet", out / "claims.md")
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
        from mtaal.workflow import report_tables

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


def _record(args: argparse.Namespace, config: dict) -> None:
    from mtaal.results import record as R
    from mtaal.results.compare import load_reported

    if args.action == "missing":
        for run in R.missing_runs(args.record, config):
            if args.rank is None or R.seed_rank(run, config) == args.rank:
                print(run.rounds_path(args.results))
    elif args.action == "add":
        added = R.add_runs(args.record, args.results, config)
        print(f"{args.record}: {len(added)} runs added" + "".join(f"\n  {run}" for run in added))
    else:
        reported = load_reported(_reported_paths(config))
        comparison = R.rebuild(args.record, reported, config)
        print(f"{args.record}: {len(comparison)} printed cells compared; see STATUS.md, comparison.md")


def _results(args: argparse.Namespace, config: dict) -> None:
    """The rules ``results_store`` / ``results_compare`` over whatever runs RESULTS holds (a partial tier
    too: a printed cell without runs is listed with its reason)."""
    import pandas as pd

    from mtaal.results import compare as C
    from mtaal.results.store import read_store, write_store

    root = args.results
    splits = {d: root / "corpora" / d / "mtaal_split.parquet" for d in config["mtaal"]["datasets"]}
    splits = {d: path for d, path in splits.items() if path.is_file()}
    store_dir = root / "store"
    if args.command == "store":
        studies = [s for s in ("curves", "diversity") if s in config["mtaal"]]
        rounds = sorted(p for p in (root / "mtaal").glob("*/*/*/*/seed*/rounds.parquet")
                        if p.parts[-6] in studies and p.parts[-5] in splits)
        runs = sorted(p.parent for p in (root / "multitask").glob("*/*/*/ablation*/seed*/best.json"))
        if not rounds and not runs:
            raise MissingInputError(f"no finished run under {root}/mtaal or {root}/multitask (make one with "
                                    f"`mtaal active-learn` or `mtaal multitask-run`{_option(args)})")
        written = write_store(store_dir, rounds, runs)
        print(f"{store_dir}: {len(written)} run files ({len(rounds)} MTAAL, {len(runs)} transformer runs)")
        return
    require({store_dir: f"mtaal store{_option(args)}"})
    tables = root / "tables"

    def optional(path: Path) -> pd.DataFrame | None:
        return pd.read_parquet(path) if path.is_file() else None

    sequences = [optional(p) for p in sorted(tables.glob("wordpiece_*.parquet"))]
    preferred = [t for t in sequences if t is not None and t["encoder"].str.startswith("biobert").any()]
    reproduction = C.Reproduction(
        store=read_store(store_dir),
        report_after_round=config["mtaal"]["report_after_round"],
        diversity=optional(root / "mtaal" / "tables" / "query_diversity.parquet"),
        corpus_stats=optional(tables / "corpus_stats.parquet"),
        coverage=optional(tables / "corpus_coverage.parquet"),
        sequences=(preferred or [t for t in sequences if t is not None] or [None])[0],
        mtaal_sentences=C.mtaal_sentence_counts(splits),
    )
    reported = C.load_reported(_reported_paths(config))
    out = root / "results"
    table = C.write_comparison(reproduction, reported, config["tier"], out / "comparison.parquet",
                               out / "comparison_mtaal.md", out / "comparison_multitask.md")
    counts = table["status"].value_counts().to_dict()
    print(f"wrote {out}/comparison.parquet and comparison_{{mtaal,multitask}}.md: {counts}")


def _fetch_helpers(args: argparse.Namespace, config: dict, registry, dataset, raw: Path) -> None:
    """Download the HUNER split lists / patches a dataset needs when they are not there yet (small)."""
    from mtaal.corpora.download import DownloadPolicy, download_corpus, resolve_mirror

    recorded = json.loads((raw / dataset.corpus / "download.json").read_text(encoding="utf-8")).get("mirror")
    mirror = resolve_mirror(args.mirror or recorded or config["corpus_mirror"])
    helpers = []
    if dataset.split["scheme"] == "huner":
        helpers.append("huner_splits")
    if config["apply_huner_patches"] and registry.corpus(dataset.corpus).patches:
        helpers.append("huner_patches")
    for helper in helpers:
        if (raw / helper / "download.json").is_file():
            continue
        logging.getLogger("mtaal").info("%s needs %s: downloading it", dataset.name, helper)
        download_corpus(registry.corpus(helper), raw / helper, mirror, "fail",
                        config["allow_unpinned_downloads"], DownloadPolicy.from_config(config["downloads"]))


def _multitask(args: argparse.Namespace, config: dict, registry) -> None:
    """The rules ``wordpiece`` and ``multitask_*`` for one dataset / one run, with the config's settings."""
    from mtaal.multitask.encoder_specs import revision_of, tokenizer_spec_of
    from mtaal.multitask.wordpiece import build_wordpiece

    settings = config["multitask"]
    encoder = args.encoder or settings["encoder"]
    if encoder not in settings["encoders"]:
        raise MtaalError(f"unknown encoder {encoder!r}; config multitask.encoders has: "
                         f"{', '.join(sorted(settings['encoders']))}")
    if args.command == "wordpiece":
        tokens = args.results / "corpora" / args.dataset / "tokens.parquet"
        require({tokens: f"mtaal build-dataset {args.dataset}{_option(args)}"})
        spec, lowercase = tokenizer_spec_of(settings["encoders"][encoder])
        meta = build_wordpiece(
            args.results / "corpora" / args.dataset / "tokens.parquet",
            args.results / "wordpiece" / encoder / f"{args.dataset}.parquet",
            args.results / "wordpiece" / encoder / f"{args.dataset}.json",
            dataset=args.dataset, encoder=encoder, tokenizer_spec=spec, lowercase=lowercase,
            max_len=settings["max_len"],
            entity_types=sorted(set(registry.dataset(args.dataset).entity_types.values())),
            revision=revision_of(settings["encoders"][encoder]),
        )
        print(f"{args.dataset}: {meta['counts']}")
        return
    from mtaal.multitask.experiment import run_multitask

    model = settings["encoders"][encoder]["model"]
    if not model:
        raise MtaalError(f"encoder {encoder!r} has no weights (a tokenizer only): pick another --encoder")
    tasks = {task: (args.results / "wordpiece" / encoder / f"{task}.parquet",
                    args.results / "corpora" / task / "tokens.parquet") for task in args.tasks}
    needed = {}
    for task, (sequences, tokens) in tasks.items():
        needed[tokens] = f"mtaal build-dataset {task}{_option(args)}"
        needed[sequences] = f"mtaal wordpiece {task} --encoder {encoder}{_option(args)}"
    if args.init_encoder is not None:
        needed[args.init_encoder] = "a saved encoder: the workflow's rule multitask_mtl_without"
    require(needed)
    group = args.tasks[0] if len(args.tasks) == 1 else "+".join(sorted(args.tasks))
    out = (args.results / "multitask" / encoder / "cli" / group / f"ablation{args.fraction:g}"
           / f"seed{args.seed}")
    best = run_multitask(tasks, settings["training"], model, out, seed=args.seed,
                         ablation_fraction=args.fraction, max_train_sequences=settings["max_train_sequences"],
                         max_eval_sequences=settings["max_eval_sequences"], init_encoder=args.init_encoder,
                         encoder_revision=revision_of(settings["encoders"][encoder]))
    for task, scores in best.get("tasks", {}).items():
        print(f"{task}: test word F1 {scores['test'].get('word_f1', float('nan')):.4f}, entity F1 "
              f"{scores['test'].get('entity_f1', float('nan')):.4f}")
    print(f"wrote {out}")


def _curate(args: argparse.Namespace) -> None:
    from mtaal.curate import commands as C
    from mtaal.curate.project import Project

    if args.command == "init":
        concepts = args.concepts if isinstance(args.concepts, bool) else Path(args.concepts)
        project = C.init(args.project, args.entity_types.split(","), concepts)
        print(f"created {project.root}: entity types {', '.join(project.entity_types)}"
              f"{' + concept ids' if project.concepts else ''}; settings in {project.root / 'config.yaml'}")
        return
    project = Project.open(args.project)
    if args.command == "add-text":
        done = C.add_text(project, args.files, args.format, args.one_per_line)
        print(f"{done['sentences_added']} sentences added from {done['documents']} documents "
              f"({done['duplicates_skipped']} duplicates skipped, {done['annotations_ignored']} annotations "
              "ignored)")
    elif args.command == "add-labels":
        done = C.add_labels(project, args.files, args.format, args.map_types)
        untagged = ", ".join(f"{n} {kind}" for kind, n in done["not_tagged"].items())
        print(f"{done['sentences']} labeled sentences: {done['from_pool']} from the pool, {done['new']} new, "
              f"{done['relabeled']} corrected, {done['duplicates_skipped']} duplicates skipped"
              + (f"; not IOB2-taggable: {untagged}" if untagged else ""))
    elif args.command == "train":
        done = C.train(project, args.fresh)
        print(f"model v{done['model_version']}: {done['labeled_count']} labeled sentences, {done['epochs']} "
              f"epochs, task loss {done['task_loss']:.4f}" + (f" (new model: {done['fresh']})"
                                                             if done["fresh"] else ""))
    elif args.command == "query":
        done = C.query(project, args.k, args.strategy)
        print(f"batch {done['batch']}: {done['k']} of {done['pool_size']} pool sentences by "
              f"{done['strategy']}"
              f" -> {', '.join(str(project.root / f) for f in done['files'])}")
    elif args.command == "status":
        print(C.render_status(C.status(project)))


if __name__ == "__main__":
    raise SystemExit(main())
