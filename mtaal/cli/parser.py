"""The ``mtaal`` argument parser: one sub-command per workflow step, plus the curator commands."""

from __future__ import annotations

import argparse
from pathlib import Path

ENCODER_HELP = "a key of config multitask.encoders (default: multitask.encoder)"


def at_least(minimum: int):
    """An argparse type: a whole number >= ``minimum`` (numpy's seeding refuses a negative seed)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {minimum}, got {text!r}")
        return value

    return parse


def build_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mtaal", description=description)
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

    embeddings = commands.add_parser("embeddings", help="word vectors (results/embeddings/<name>.safetensors)"
                                     " and their coverage of the MTAAL datasets")
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
    learn.add_argument("--seed", type=at_least(0), default=1)
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
    multitask.add_argument("--seed", type=at_least(0), default=1)
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

    # Stage 5: commands that read the store (or make it), each over one results folder.
    for name, help_text in (
        ("store", "every finished run under RESULTS into the results store"),
        ("compare", "every printed cell of both papers beside the store's runs"),
        ("claims", "each claim of both papers judged on the store (with the corpus statistics and the "
                   "encoder's WordPiece sequence table, for Fig. 4) and on the printed numbers"),
        ("figures", "from the store: the cross-paper annotation curves and the multitask paper's Figs. 5-6 "
                    "as printed"),
        ("report", "HTML pages of every table there is, provenance and benchmarks (results/report/)"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--results", type=Path, default=Path("results"))

    record = commands.add_parser("record", help="a committed reproduction record (reproductions/<name>): "
                                 "missing runs, add finished ones, rebuild its tables and figures")
    record.add_argument("action", choices=["missing", "progress", "add", "recover", "rebuild"],
                        help="missing: print the rounds files (a multitask record: best.json files) still "
                             "to run (one per line, the most wanted first); progress (a multitask record): "
                             "where each missing run stands: finished under RESULTS, part-way (its epoch "
                             "checkpoint's epoch and dev F1) or not started; add: finished runs under "
                             "RESULTS into the record; recover: selections "
                             "and annotation cost of recorded random runs, replayed (the corpora under "
                             "RESULTS) and checked against their query statistics; rebuild: comparison, "
                             "figures and STATUS.md from the record's store alone")
    record.add_argument("record", type=Path, help="the record directory")
    record.add_argument("--results", type=Path, default=Path("results"))
    record.add_argument("--rank", type=int, default=None,
                        help="missing: only the runs at this seed rank (0: each variant's first seed; a "
                             "multitask record: the config's first seed)")

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
    query.add_argument("-k", type=at_least(1), default=50, help="batch size (default 50)")
    query.add_argument("--strategy", choices=["diversity", "lc", "entropy", "mnlp", "random"],
                       help="default: config.yaml strategy")
    status = commands.add_parser("status", help="curator project: summary and history")
    status.add_argument("project", type=Path)
