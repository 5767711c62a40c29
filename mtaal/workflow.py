"""Glue for Snakemake rules and ``script:`` adapters: log to the rule's log file (failures too), and config
helpers the rules call while planning (kept free of heavy imports)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from mtaal.errors import ConfigError


@contextmanager
def rule_logging(log_files) -> Iterator[logging.Logger]:
    """Send ``logging`` (and warnings) to the rule's first log file; log any exception before re-raising."""
    path = Path(log_files[0]) if log_files else None
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(path, mode="w", encoding="utf-8"))
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    logging.captureWarnings(True)
    logger = logging.getLogger("mtaal")
    try:
        yield logger
    except Exception:
        logger.exception("rule failed")
        raise


def query_size_for(query_size: int | Mapping[str, int], dataset: str) -> int:
    """A study's ``query_size`` for ``dataset``: the number itself, or its entry in a {dataset: n} map."""
    if isinstance(query_size, Mapping):
        if dataset not in query_size:
            raise ConfigError(f"mtaal query_size has no entry for dataset {dataset!r} (has: "
                              f"{', '.join(sorted(query_size))})")
        return int(query_size[dataset])
    return int(query_size)


def study_for(study: Mapping, dataset: str) -> dict:
    """A study's loop settings (less the run choices, :data:`RUN_CHOICE_KEYS`) with ``query_size``
    resolved for ``dataset``."""
    settings = {key: value for key, value in study.items() if key not in RUN_CHOICE_KEYS}
    return {**settings, "query_size": query_size_for(study["query_size"], dataset)}


# A study's keys that choose which runs exist (not how one runs: adding a seed must not rerun the others).
RUN_CHOICE_KEYS = ("seeds", "variants", "variant_seeds", "variant_embeddings")


def study_runs(mtaal: Mapping, study: str) -> dict[str, list[int]]:
    """The runs of a study, variant -> seeds: the study's ``variants`` (default: the ``mtaal.variants``
    without ``model`` switches), each with its ``variant_seeds`` entry, else the study's ``seeds``, else
    ``mtaal.seeds``."""
    settings = mtaal[study]
    # Unnamed, a study runs the papers' variants: those that switch model settings run only when named.
    variants = settings.get("variants") or [name for name, spec in mtaal["variants"].items()
                                             if not spec.get("model")]
    seeds = settings.get("seeds") or mtaal["seeds"]
    per_variant = settings.get("variant_seeds") or {}
    return {variant: list(per_variant.get(variant, seeds)) for variant in variants}


MTAAL_RUN = "{root}/mtaal/{study}/{dataset}/{embedding}/{variant}/seed{seed}/rounds.parquet"
MTAAL_BENCHMARK = "{root}/benchmarks/mtaal/{study}/{dataset}/{embedding}/{variant}/seed{seed}.tsv"
MULTITASK_RUN = "{root}/multitask/{encoder}/{experiment}/{group}/ablation{fraction}/seed{seed}"


@dataclass(frozen=True)
class MtaalRun:
    """One active-learning run of a study (rule ``mtaal_run``)."""

    study: str
    dataset: str
    embedding: str
    variant: str
    seed: int

    @property
    def run_id(self) -> str:
        from mtaal.results.store import mtaal_run_id  # imported here: planning stays free of pandas

        return mtaal_run_id(self.dataset, self.embedding, self.variant, self.seed)

    def _path(self, template: str, root: str | Path) -> Path:
        return Path(template.format(root=root, study=self.study, dataset=self.dataset,
                                    embedding=self.embedding, variant=self.variant, seed=self.seed))

    def rounds_path(self, root: str | Path = "results") -> Path:
        return self._path(MTAAL_RUN, root)

    def benchmark_path(self, root: str | Path = "results") -> Path:
        return self._path(MTAAL_BENCHMARK, root)


def mtaal_run_plan(mtaal: Mapping, study: str) -> list[MtaalRun]:
    """A study's runs (config ``mtaal``), most wanted first, so that a tier cut off anywhere (a record, a
    scheduler) holds the most of a table: the repeated variants (those with ``variant_seeds``: the main
    comparison) at their first seed, then at their further seeds, then the others by seed; within each, the
    tier's variant, dataset and embedding order. Every dataset x embedding (the diversity study: the first
    embedding only; a variant named in ``variant_embeddings``: those of its embeddings) x variant x seed."""
    embeddings = mtaal["embeddings"] if study == "curves" else mtaal["embeddings"][:1]
    repeated = set(mtaal[study].get("variant_seeds") or {})
    per_variant = mtaal[study].get("variant_embeddings") or {}
    ranked = [((variant not in repeated, rank), MtaalRun(study, dataset, embedding, variant, int(seed)))
              for variant, seeds in study_runs(mtaal, study).items() for rank, seed in enumerate(seeds)
              for dataset in mtaal["datasets"]
              for embedding in embeddings if embedding in per_variant.get(variant, embeddings)]
    return [run for _, run in sorted(ranked, key=lambda item: item[0])]  # stable: tier order kept


def planned_mtaal_runs(mtaal: Mapping, study: str, root: str = "results") -> list[str]:
    """The rounds files of :func:`mtaal_run_plan`, in its order."""
    return [str(run.rounds_path(root)) for run in mtaal_run_plan(mtaal, study)]


def huner_tasks(config: Mapping, registry) -> list[str]:
    """The config's datasets that are HUNER tasks (the multitask paper's), in config order."""
    return [name for name in config["datasets"] if registry.dataset(name).paper == "huner"]


def task_entity(registry, task: str) -> str:
    return registry.dataset(task).entity_type


def planned_multitask_runs(config: Mapping, registry, encoder: str | None = None,
                           root: str = "results") -> list[str]:
    """The ``best.json`` of every transformer run the config plans: per seed and ablation fraction, STL per
    task, MTL on all, each held-out task fine-tuned; per seed, MTL without each entity group."""
    settings = config["multitask"]
    encoder = encoder or settings["encoder"]
    tasks = huner_tasks(config, registry)

    def run(experiment: str, group: str, fraction: str, seed: int) -> str:
        return MULTITASK_RUN.format(root=root, encoder=encoder, experiment=experiment, group=group,
                                    fraction=fraction, seed=seed)

    runs = []
    for seed in settings["seeds"]:
        for fraction in [f"{fraction:g}" for fraction in settings["ablation_fractions"]]:
            runs += [run("stl", task, fraction, seed) for task in tasks]
            runs.append(run("mtl", "all", fraction, seed))
            for entity in settings["entity_groups"]:
                runs += [run("finetune", task, fraction, seed) for task in tasks
                         if task_entity(registry, task) == entity]
        runs += [run("mtl_without", entity, "0", seed) for entity in settings["entity_groups"]]
    return [f"{run}/best.json" for run in runs]


REPORT_CATEGORIES = ("MTAAL (Zhou et al. 2021)", "Multitask NER (Rodriguez et al. 2022)")


def report_tables(encoder: str, root: str = "results") -> dict[str, tuple[str, str, str, str]]:
    """The tables of ``snakemake --report`` (rule ``report_table``, ``mtaal report``): name -> (parquet
    source, category, subcategory, what the table shows)."""
    mtaal_cat, multitask_cat = REPORT_CATEGORIES
    report = f"{root}/multitask/{encoder}/report"
    return {
        "mtaal_final_f1": (f"{root}/mtaal/tables/final_f1.parquet", mtaal_cat, "Tables",
                           "Paper Tables 2-3: NER and NEN F1 after N query rounds per variant, dataset and "
                           "embedding (strict and release-style metrics), mean and std over seeds."),
        "mtaal_query_diversity": (f"{root}/mtaal/tables/query_diversity.parquet", mtaal_cat, "Tables",
                                  "Paper Table 4: distinct words, entity mentions and share of sentences "
                                  "with an entity among all sentences a strategy queried; mean and std "
                                  "over repeats."),
        "embedding_coverage": (f"{root}/tables/embedding_coverage.parquet", mtaal_cat, "Tables",
                               "Vocabulary coverage (OOV rate) of each word embedding on each MTAAL "
                               "dataset."),
        "multitask_table1_mentions": (f"{report}/table1_mentions.parquet", multitask_cat, "Tables",
                                      "Paper Table 1: mentions per HUNER task and split."),
        "multitask_table2_stl": (f"{report}/table2_stl.parquet", multitask_cat, "Tables",
                                 "Paper Table 2: single-task models, best epoch, dev and test word-level "
                                 "P/R/F1."),
        "multitask_table3_mtl_vs_stl": (f"{report}/table3_mtl_vs_stl.parquet", multitask_cat, "Tables",
                                        "Paper Table 3: the multi-task model beside single-task, per task."),
        "multitask_table3_mtl_vs_stl_tests": (f"{report}/table3_mtl_vs_stl_tests.parquet", multitask_cat,
                                              "Tables", "Paired Wilcoxon and t tests of MTL against STL over "
                                              "tasks."),
        "multitask_table4_stl_ablation": (f"{report}/table4_stl_ablation.parquet", multitask_cat, "Tables",
                                          "Paper Table 4: single-task models under data ablation."),
        "multitask_table5_mtl_ablation": (f"{report}/table5_mtl_ablation.parquet", multitask_cat, "Tables",
                                          "Paper Table 5: the multi-task model under data ablation."),
        "multitask_table6_finetune": (f"{report}/table6_finetune.parquet", multitask_cat, "Tables",
                                      "Paper Table 6: held-out tasks fine-tuned from entity-ablated MTL "
                                      "encoders."),
        "multitask_table7_entity_level": (f"{report}/table7_entity_level.parquet", multitask_cat, "Tables",
                                          "Paper Table 7: entity-level strict P/R/F1 (seqeval)."),
        "multitask_fig4_stl_correlation_stats": (f"{report}/fig4_stl_correlation_stats.parquet",
                                                 multitask_cat, "Tables",
                                                 "Fig. 4 statistics: Pearson r, r squared and p of STL F1 "
                                                 "against training sequences and annotation density."),
        "comparison": (f"{root}/results/comparison.parquet", "Reproduction", "Reported vs reproduced",
                       "Every printed cell of both papers (config/reported/) beside ours: mean, std and 95% "
                       "prediction interval over seeds, our stricter metric, an all-O predictor's score, and "
                       "the reason where this tier did not reproduce the cell."),
        "claims": (f"{root}/results/claims.parquet", "Reproduction", "Claims",
                   "Each qualitative claim of both papers judged on this tier's runs and on the paper's own "
                   "printed numbers: verdict, effect with 95% interval, test, n, raw and Holm-adjusted p, "
                   "attainable p, the level Holm leaves the claim, the design it needs and the effect it "
                   "detects with power 0.8 at that level, a rank-based test of the same claim and whether "
                   "it agrees, and the table or figure it rests on."),
        "annotation_curves": (f"{root}/results/annotation_curves.parquet", "Reproduction",
                              "Beyond both papers", "Points of the cross-paper figure: F1 against the "
                              "labeled share of the training data."),
        "corpus_stats": (f"{root}/tables/corpus_stats.parquet", "Corpora", "Tables",
                         "Documents, sentences, tokens, mentions, annotation density, vocabulary and label "
                         "counts per dataset and split."),
        "corpus_coverage": (f"{root}/tables/corpus_coverage.parquet", "Corpora", "Tables",
                            "Which datasets were built at this tier, which were skipped and why."),
    }
