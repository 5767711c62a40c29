"""``mtaal`` commands that make data and runs: download, datasets, splits, embeddings, one MTAAL run, one
transformer run, the curator's project; :func:`run_command` sends every command to its handler."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from mtaal.cli.common import REPO_CONFIG, check_results_folder, load_config, require, results_option
from mtaal.cli.parser import CURATE_COMMANDS
from mtaal.cli.results import run_mtaal_tables, run_multitask_report, run_record, run_results, run_stage5
from mtaal.errors import MissingInputError, MtaalError
from mtaal.planning import checkpoint_location


def run_command(args: argparse.Namespace) -> None:
    from mtaal.corpora.registry import load_registry

    if args.command in CURATE_COMMANDS:
        _curate(args)
        return
    if args.command == "check-config":
        config = load_config(args.files, flag="")
        print(f"valid: tier {config['tier']}, {len(config['datasets'])} datasets")
        return
    check_results_folder(args.results)
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
        require({raw / corpus / "download.json": f"mtaal download {corpus}{results_option(args)}"})
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
        require({folder / "tokens.parquet": f"mtaal build-dataset {args.dataset}{results_option(args)}"})
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
        run_results(args, config, registry)
    elif args.command == "embeddings":
        _embeddings(args, config)
    elif args.command == "mtaal-tables":
        run_mtaal_tables(args, config)
    elif args.command in ("wordpiece-table", "multitask-report"):
        run_multitask_report(args, config, registry)
    elif args.command in ("claims", "figures", "report"):
        run_stage5(args, config, registry)
    elif args.command == "record":
        run_record(args, config)
    elif args.command == "corpus-stats":
        from mtaal.corpora.stats import write_corpus_tables

        summaries = sorted((args.results / "corpora").glob("*/summary.json"))
        if not summaries:
            raise MissingInputError(f"no built dataset: {args.results / 'corpora'}/*/summary.json is missing "
                                    f"(make one with `mtaal build-dataset <dataset>{results_option(args)}`)")
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
    split = f"mtaal mtaal-split {args.dataset}{results_option(args)}"
    require({corpus_dir / "tokens.parquet": f"mtaal build-dataset {args.dataset}{results_option(args)}",
             corpus_dir / "mtaal_split.parquet": split, corpus_dir / "mtaal_labels.json": split})
    from mtaal.embeddings import vectors_path

    vectors = vectors_path(args.results / "embeddings", args.embedding)
    if not vectors.is_file():
        if args.embedding != "glove" or config["mtaal"]["embedding_source"] != "substitute":
            require({vectors: f"mtaal embeddings {args.embedding}{results_option(args)}"})
        from mtaal.embeddings import load_glove_package

        load_glove_package(vectors)
    run_name = f"{args.study}/{args.dataset}/{args.embedding}/{args.variant}/seed{args.seed}"
    run = experiment_settings(args.dataset, args.embedding, settings["variants"][args.variant],
                              settings[args.study], settings["model"], args.seed)
    rounds = run_experiment(run, corpus_dir, vectors,
                            args.results / "mtaal" / run_name / "rounds.parquet",
                            Path(checkpoint_location(config, f"mtaal/checkpoints/{run_name}.safetensors",
                                                     args.results)),
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
        require({path: f"mtaal build-dataset {d}{results_option(args)}" for d, path in paths.items()})
        return list(paths.values())

    for name in args.which or [*settings["embeddings"], "coverage"]:
        out = E.vectors_path(folder, name)
        if name == "coverage":
            vectors = {e: E.vectors_path(folder, e) for e in settings["embeddings"]}
            require({path: f"mtaal embeddings {e}{results_option(args)}" for e, path in vectors.items()})
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
            from mtaal.corpora.download import DownloadPolicy, resolve_mirror

            if name not in settings["pretrained_vectors"]:
                raise MtaalError(f"config mtaal.pretrained_vectors has no entry {name!r}")
            E.write_pretrained_vectors(settings["pretrained_vectors"][name],
                                       args.results / "raw" / "embeddings", tokens(settings["datasets"]), out,
                                       folder / f"{name}.json",
                                       mirror=resolve_mirror(args.mirror or config["corpus_mirror"]),
                                       allow_unpinned=config["allow_unpinned_downloads"],
                                       policy=DownloadPolicy.from_config(config["downloads"]))
        elif name == "word2vec":
            # the config's datasets built so far (the rule: all of them); none built: what to build
            built = [d for d in config["datasets"]
                     if (args.results / "corpora" / d / "tokens.parquet").is_file()] or config["datasets"]
            E.train_word2vec(tokens(built), out, workers=1, **settings["word2vec"])
            if left := [d for d in config["datasets"] if d not in built]:
                print(f"word2vec on the {len(built)} datasets built ({', '.join(built)}); not built yet: "
                      f"{', '.join(left)}")
        else:
            E.load_glove_package(out)
        print(f"wrote {out}")


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
        require({tokens: f"mtaal build-dataset {args.dataset}{results_option(args)}"})
        spec, lowercase = tokenizer_spec_of(settings["encoders"][encoder])
        meta = build_wordpiece(
            args.results / "corpora" / args.dataset / "tokens.parquet",
            args.results / "wordpiece" / encoder / f"{args.dataset}.parquet",
            args.results / "wordpiece" / encoder / f"{args.dataset}.json",
            dataset=args.dataset, encoder=encoder, tokenizer_spec=spec, lowercase=lowercase,
            max_len=settings["max_len"], packing=settings["packing"],
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
        needed[tokens] = f"mtaal build-dataset {task}{results_option(args)}"
        needed[sequences] = f"mtaal wordpiece {task} --encoder {encoder}{results_option(args)}"
    if args.init_encoder is not None:
        needed[args.init_encoder] = "a saved encoder: the workflow's rule multitask_mtl_without"
    require(needed)
    group = args.tasks[0] if len(args.tasks) == 1 else "+".join(sorted(args.tasks))
    out = (args.results / "multitask" / encoder / "cli" / group / f"ablation{args.fraction:g}"
           / f"seed{args.seed}")
    experiment = "finetune" if args.init_encoder is not None else "stl" if len(args.tasks) == 1 else "mtl"
    identity = dict(experiment=experiment, group=group, encoder=encoder, tier=config["tier"],
                    entity_types={task: registry.dataset(task).entity_type for task in args.tasks})
    best = run_multitask(tasks, settings["training"], model, out, identity=identity, seed=args.seed,
                         ablation_fraction=args.fraction, max_train_sequences=settings["max_train_sequences"],
                         max_eval_sequences=settings["max_eval_sequences"],
                         max_train_subwords=settings.get("max_train_subwords"),
                         init_encoder=args.init_encoder,
                         encoder_revision=revision_of(settings["encoders"][encoder]),
                         checkpoint_path=Path(checkpoint_location(
                             config, f"{out.relative_to(args.results)}/checkpoint.safetensors",
                             args.results)))
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
