# Stage 5: what a reader of either paper wants. One long results store for every run, the papers'
# numbers beside ours, claim verdicts, a cross-paper figure, and the pieces of `snakemake --report`.

RESULTS = config["results"]
MULTITASK_REPORT = f"results/multitask/{ENCODER}/report"
# The paper's sequence counts are of BioBERT's cased vocabulary: compare with that preprocessing when it runs.
SEQUENCE_ENCODER = next((e for e in MULTITASK["wordpiece_encoders"] if e.startswith("biobert")), ENCODER)
MTAAL_CAT, MULTITASK_CAT = "MTAAL (Zhou et al. 2021)", "Multitask NER (Rodriguez et al. 2022)"
# name: (parquet source, category, subcategory, what the table shows)
REPORT_TABLES = {
    "mtaal_final_f1": ("results/mtaal/tables/final_f1.parquet", MTAAL_CAT, "Tables",
                       "Paper Tables 2-3: NER and NEN F1 after N query rounds per variant, dataset and embedding "
                       "(strict and release-style metrics), mean and std over seeds."),
    "mtaal_query_diversity": ("results/mtaal/tables/query_diversity.parquet", MTAAL_CAT, "Tables",
                              "Paper Table 4: distinct words, entity mentions and share of sentences with an "
                              "entity among all sentences a strategy queried; mean and std over repeats."),
    "embedding_coverage": ("results/tables/embedding_coverage.parquet", MTAAL_CAT, "Tables",
                           "Vocabulary coverage (OOV rate) of each word embedding on each MTAAL dataset."),
    "multitask_table1_mentions": (f"{MULTITASK_REPORT}/table1_mentions.parquet", MULTITASK_CAT, "Tables",
                                  "Paper Table 1: mentions per HUNER task and split."),
    "multitask_table2_stl": (f"{MULTITASK_REPORT}/table2_stl.parquet", MULTITASK_CAT, "Tables",
                             "Paper Table 2: single-task models, best epoch, dev and test word-level P/R/F1."),
    "multitask_table3_mtl_vs_stl": (f"{MULTITASK_REPORT}/table3_mtl_vs_stl.parquet", MULTITASK_CAT, "Tables",
                                    "Paper Table 3: the multi-task model beside single-task, per task."),
    "multitask_table3_mtl_vs_stl_tests": (f"{MULTITASK_REPORT}/table3_mtl_vs_stl_tests.parquet",
                                          MULTITASK_CAT, "Tables",
                                          "Paired Wilcoxon and t tests of MTL against STL over tasks."),
    "multitask_table4_stl_ablation": (f"{MULTITASK_REPORT}/table4_stl_ablation.parquet", MULTITASK_CAT,
                                      "Tables", "Paper Table 4: single-task models under data ablation."),
    "multitask_table5_mtl_ablation": (f"{MULTITASK_REPORT}/table5_mtl_ablation.parquet", MULTITASK_CAT,
                                      "Tables", "Paper Table 5: the multi-task model under data ablation."),
    "multitask_table6_finetune": (f"{MULTITASK_REPORT}/table6_finetune.parquet", MULTITASK_CAT, "Tables",
                                  "Paper Table 6: held-out tasks fine-tuned from entity-ablated MTL encoders."),
    "multitask_table7_entity_level": (f"{MULTITASK_REPORT}/table7_entity_level.parquet", MULTITASK_CAT,
                                      "Tables", "Paper Table 7: entity-level strict P/R/F1 (seqeval)."),
    "multitask_fig4_stl_correlation_stats": (f"{MULTITASK_REPORT}/fig4_stl_correlation_stats.parquet",
                                             MULTITASK_CAT, "Tables",
                                             "Fig. 4 statistics: Pearson r, r squared and p of STL F1 against "
                                             "training sequences and annotation density."),
    "comparison": ("results/results/comparison.parquet", "Reproduction", "Reported vs reproduced",
                   "Every printed cell of both papers (config/reported/) beside ours: mean, std and 95% "
                   "prediction interval over seeds, our stricter metric, an all-O predictor's score, and "
                   "the reason where this tier did not reproduce the cell."),
    "claims": ("results/results/claims.parquet", "Reproduction", "Claims",
               "Each qualitative claim of both papers judged on this tier's runs and on the paper's own "
               "printed numbers: verdict, effect with 95% interval, test, n, raw and Holm-adjusted p, "
               "attainable p, minimum detectable effect and the table or figure it rests on."),
    "annotation_curves": ("results/results/annotation_curves.parquet", "Reproduction", "Beyond both papers",
                          "Points of the cross-paper figure: F1 against the labeled share of the training "
                          "data."),
    "corpus_stats": ("results/tables/corpus_stats.parquet", "Corpora", "Tables",
                     "Documents, sentences, tokens, mentions, annotation density, vocabulary and label counts "
                     "per dataset and split."),
    "corpus_coverage": ("results/tables/corpus_coverage.parquet", "Corpora", "Tables",
                        "Which datasets were built at this tier, which were skipped and why."),
}




rule results_store:
    input:
        mtaal=mtaal_runs("curves") + mtaal_runs("diversity"),
        multitask=multitask_runs(),
    output:
        store=directory("results/store"),
    log:
        "results/logs/results/store.log",
    benchmark:
        "results/benchmarks/results/store.tsv"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=10,
    conda:
        "../envs/mtaal.yaml"
    script:
        "../workflow_scripts/results_store.py"


rule results_compare:
    input:
        store="results/store",
        diversity="results/mtaal/tables/query_diversity.parquet",
        corpus_stats="results/tables/corpus_stats.parquet",
        coverage="results/tables/corpus_coverage.parquet",
        splits=expand("results/corpora/{dataset}/mtaal_split.parquet", dataset=MTAAL["datasets"]),
        sequences=f"results/tables/wordpiece_{SEQUENCE_ENCODER}.parquet",
        reported=RESULTS["reported"],
    output:
        comparison="results/results/comparison.parquet",
        mtaal_md="results/results/comparison_mtaal.md",
        multitask_md="results/results/comparison_multitask.md",
    params:
        report_after_round=MTAAL["report_after_round"],
        mtaal_datasets=MTAAL["datasets"],
        tier=config["tier"],
    log:
        "results/logs/results/compare.log",
    benchmark:
        "results/benchmarks/results/compare.tsv"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=10,
    conda:
        "../envs/mtaal.yaml"
    script:
        "../workflow_scripts/results_compare.py"


rule results_claims:
    input:
        store="results/store",
        diversity="results/mtaal/tables/query_diversity.parquet",
        multitask_report=MULTITASK_REPORT,
        reported=RESULTS["reported"],
    output:
        claims="results/results/claims.parquet",
        claims_md="results/results/claims.md",
    params:
        report_after_round=MTAAL["report_after_round"],
        alpha=RESULTS["alpha"],
        margin=RESULTS["equivalence_margin"],
        correlation_margin=RESULTS["correlation_margin"],
        tier=config["tier"],
    log:
        "results/logs/results/claims.log",
    benchmark:
        "results/benchmarks/results/claims.tsv"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=10,
    conda:
        "../envs/mtaal.yaml"
    script:
        "../workflow_scripts/results_claims.py"


rule annotation_curves:
    input:
        store="results/store",
    output:
        points="results/results/annotation_curves.parquet",
        png=report("results/results/annotation_curves.png", caption="../report/annotation_curves.rst",
                   category="Reproduction", subcategory="Beyond both papers"),
        svg="results/results/annotation_curves.svg",
    params:
        shared=RESULTS["shared_datasets"],
        tier=config["tier"],
    log:
        "results/logs/results/annotation_curves.log",
    benchmark:
        "results/benchmarks/results/annotation_curves.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/mtaal.yaml"
    script:
        "../workflow_scripts/results_annotation_curves.py"


rule multitask_paper_figures:
    input:
        store="results/store",
    output:
        fig5="results/results/fig5_entity_ablation.parquet",
        fig5_png=report("results/results/fig5_entity_ablation.png", caption="../report/paper_figures.rst",
                        category=MULTITASK_CAT, subcategory="Figures as printed"),
        fig5_svg="results/results/fig5_entity_ablation.svg",
        fig6="results/results/fig6_finetune_groups.parquet",
        fig6_png=report("results/results/fig6_finetune_groups.png", caption="../report/paper_figures.rst",
                        category=MULTITASK_CAT, subcategory="Figures as printed"),
        fig6_svg="results/results/fig6_finetune_groups.svg",
    params:
        tier=config["tier"],
        encoder=ENCODER,
    log:
        "results/logs/results/paper_figures.log",
    benchmark:
        "results/benchmarks/results/paper_figures.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/mtaal.yaml"
    script:
        "../workflow_scripts/results_paper_figures.py"


rule report_table:
    input:
        # A table inside the multitask report directory is known to the DAG through the directory only.
        source=lambda w: MULTITASK_REPORT if REPORT_TABLES[w.name][0].startswith(f"{MULTITASK_REPORT}/")
        else REPORT_TABLES[w.name][0],
    output:
        html=report("results/report/tables/{name}.html", caption="../report/table.rst",
                    category=lambda w: REPORT_TABLES[w.name][1], subcategory=lambda w: REPORT_TABLES[w.name][2],
                    labels=lambda w: {"table": w.name}),
    params:
        table=lambda w: REPORT_TABLES[w.name][0],
        title=lambda w: w.name.replace("_", " "),
        caption=lambda w: REPORT_TABLES[w.name][3],
    wildcard_constraints:
        name="|".join(REPORT_TABLES),
    log:
        "results/logs/report/{name}.log",
    benchmark:
        "results/benchmarks/report/{name}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/mtaal.yaml"
    script:
        "../workflow_scripts/report_table.py"


rule provenance:
    input:
        # Every stage's final outputs: their jobs' benchmark files then exist.
        rules.corpora.input,
        rules.mtaal.input,
        rules.multitask.input,
        "results/results/claims.parquet",
        "results/results/comparison.parquet",
        "results/results/annotation_curves.parquet",
        rules.multitask_paper_figures.output,
        expand("results/report/tables/{name}.html", name=REPORT_TABLES),
    output:
        provenance=report("results/report/provenance.html", caption="../report/provenance.rst",
                          category="Provenance"),
        benchmarks="results/report/benchmarks.parquet",
        benchmarks_html=report("results/report/benchmarks.html", caption="../report/benchmarks.rst",
                               category="Provenance"),
    params:
        benchmarks_dir="results/benchmarks",
        workflow_dir=workflow.basedir,
    log:
        "results/logs/report/provenance.log",
    benchmark:
        # Written after the job, so the merged table holds every job but this one.
        "results/benchmarks/report/provenance.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/mtaal.yaml"
    script:
        "../workflow_scripts/provenance.py"


rule results:
    input:
        rules.provenance.output,
        rules.results_compare.output,
        rules.results_claims.output,
        rules.annotation_curves.output,
        rules.multitask_paper_figures.output,
