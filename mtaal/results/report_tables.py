"""The tables of ``snakemake --report`` (rule ``report_table``, ``mtaal report``): where each is, its
category and what it shows. Snakemake reads these while it plans: no heavy imports."""

from __future__ import annotations

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
        "comparison": (f"{root}/results/comparison.parquet", "Reproduction", "Printed vs ours",
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
