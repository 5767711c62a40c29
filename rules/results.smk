# Stage 5: what a reader of either paper wants. One long results store for every run, the papers'
# numbers beside ours, claim verdicts, a cross-paper figure, and the pieces of `snakemake --report`.

from mtaal.results.report_tables import REPORT_CATEGORIES, report_tables

RESULTS = config["results"]
MULTITASK_REPORT = f"results/multitask/{ENCODER}/report"
# The paper's sequence counts are of BioBERT's cased vocabulary: compare with that preprocessing when it runs.
SEQUENCE_ENCODER = next((e for e in MULTITASK["wordpiece_encoders"] if e.startswith("biobert")), ENCODER)
MTAAL_CAT, MULTITASK_CAT = REPORT_CATEGORIES
# name: (parquet source, category, subcategory, what the table shows)
REPORT_TABLES = report_tables(ENCODER)


STORE_RUNS = {"mtaal": mtaal_runs("curves") + mtaal_runs("diversity"), "multitask": multitask_runs()}
# One partition per paper, so that a paper's tables depend on its own runs only; readers of both take both.
STORE = {paper: f"results/store/paper={paper}" for paper in STORE_RUNS}


rule results_store:
    input:
        runs=lambda w: STORE_RUNS[w.paper],
    output:
        store=directory("results/store/paper={paper}"),
    log:
        "results/logs/results/store_{paper}.log",
    benchmark:
        "results/benchmarks/results/store_{paper}.tsv"
    wildcard_constraints:
        paper="|".join(STORE_RUNS),
    conda:
        "../envs/mtaal.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=10,
    script:
        "../workflow_scripts/results_store.py"


rule results_compare:
    input:
        store=list(STORE.values()),
        corpus_stats="results/tables/corpus_stats.parquet",
        coverage="results/tables/corpus_coverage.parquet",
        splits=expand("results/corpora/{dataset}/mtaal_split.parquet", dataset=MTAAL["datasets"]),
        sequences=f"results/tables/wordpiece_{SEQUENCE_ENCODER}.parquet",
        reported=RESULTS["reported"],
    output:
        comparison="results/results/comparison.parquet",
        mtaal_md="results/results/comparison_mtaal.md",
        multitask_md="results/results/comparison_multitask.md",
    log:
        "results/logs/results/compare.log",
    benchmark:
        "results/benchmarks/results/compare.tsv"
    conda:
        "../envs/mtaal.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=10,
    params:
        report_after_round=MTAAL["report_after_round"],
        mtaal_datasets=MTAAL["datasets"],
        registry_types=REGISTRY_TYPES,
        tier=config["tier"],
    script:
        "../workflow_scripts/results_compare.py"


# Table 4 and Fig. 4's points are computed from the store by the MTAAL tables' and the multitask report's own
# functions, on the inputs the multitask report reads beside it (corpus stats, the encoder's sequences).
rule results_claims:
    input:
        store=list(STORE.values()),
        corpus_stats="results/tables/corpus_stats.parquet",
        sequences=f"results/tables/wordpiece_{ENCODER}.parquet",
        reported=RESULTS["reported"],
    output:
        claims="results/results/claims.parquet",
        claims_md="results/results/claims.md",
    log:
        "results/logs/results/claims.log",
    benchmark:
        "results/benchmarks/results/claims.tsv"
    conda:
        "../envs/mtaal.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=10,
    # The script takes what the claims rest on from the config (mtaal.results.claims.ClaimsInputs.from_config,
    # as `mtaal claims` does); the params name it, so that a change of any of it reruns the claims.
    params:
        encoder=ENCODER,
        multitask_report=MULTITASK_REPORT,  # named in rests_on: where the report shows the same numbers
        registry_types=REGISTRY_TYPES,
        report_after_round=MTAAL["report_after_round"],
        alpha=RESULTS["alpha"],
        margin=RESULTS["equivalence_margin"],
        correlation_margin=RESULTS["correlation_margin"],
        tier=config["tier"],
    script:
        "../workflow_scripts/results_claims.py"


rule annotation_curves:
    input:
        store=list(STORE.values()),
    output:
        points="results/results/annotation_curves.parquet",
        png=report(
            "results/results/annotation_curves.png",
            caption="../report/annotation_curves.rst",
            category="Reproduction",
            subcategory="Beyond both papers",
        ),
        svg="results/results/annotation_curves.svg",
    log:
        "results/logs/results/annotation_curves.log",
    benchmark:
        "results/benchmarks/results/annotation_curves.tsv"
    conda:
        "../envs/mtaal.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        shared=RESULTS["shared_datasets"],
        tier=config["tier"],
    script:
        "../workflow_scripts/results_annotation_curves.py"


rule multitask_paper_figures:
    input:
        store=list(STORE.values()),
    output:
        fig5="results/results/fig5_entity_ablation.parquet",
        fig5_png=report(
            "results/results/fig5_entity_ablation.png",
            caption="../report/paper_figures.rst",
            category=MULTITASK_CAT,
            subcategory="Figures as printed",
        ),
        fig5_svg="results/results/fig5_entity_ablation.svg",
        fig6="results/results/fig6_finetune_groups.parquet",
        fig6_png=report(
            "results/results/fig6_finetune_groups.png",
            caption="../report/paper_figures.rst",
            category=MULTITASK_CAT,
            subcategory="Figures as printed",
        ),
        fig6_svg="results/results/fig6_finetune_groups.svg",
    log:
        "results/logs/results/paper_figures.log",
    benchmark:
        "results/benchmarks/results/paper_figures.tsv"
    conda:
        "../envs/mtaal.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        tier=config["tier"],
        encoder=ENCODER,
    script:
        "../workflow_scripts/results_paper_figures.py"


rule report_table:
    input:
        # A table inside the multitask report directory is known to the DAG through the directory only.
        source=lambda w: (
            MULTITASK_REPORT
            if REPORT_TABLES[w.name][0].startswith(f"{MULTITASK_REPORT}/")
            else REPORT_TABLES[w.name][0]
        ),
    output:
        html=report(
            "results/report/tables/{name}.html",
            caption="../report/table.rst",
            category=lambda w: REPORT_TABLES[w.name][1],
            subcategory=lambda w: REPORT_TABLES[w.name][2],
            labels=lambda w: {"table": w.name},
        ),
    log:
        "results/logs/report/{name}.log",
    benchmark:
        "results/benchmarks/report/{name}.tsv"
    wildcard_constraints:
        name="|".join(REPORT_TABLES),
    conda:
        "../envs/mtaal.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        table=lambda w: REPORT_TABLES[w.name][0],
        title=lambda w: w.name.replace("_", " "),
        caption=lambda w: REPORT_TABLES[w.name][3],
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
        provenance=report(
            "results/report/provenance.html", caption="../report/provenance.rst", category="Provenance"
        ),
        benchmarks="results/report/benchmarks.parquet",
        benchmarks_html=report(
            "results/report/benchmarks.html", caption="../report/benchmarks.rst", category="Provenance"
        ),
    log:
        "results/logs/report/provenance.log",
    benchmark:
        # Written after the job, so the merged table holds every job but this one.
        "results/benchmarks/report/provenance.tsv"
    conda:
        "../envs/mtaal.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        benchmarks_dir="results/benchmarks",
        workflow_dir=workflow.basedir,
    script:
        "../workflow_scripts/provenance.py"


rule results:
    input:
        rules.provenance.output,
        rules.results_compare.output,
        rules.results_claims.output,
        rules.annotation_curves.output,
        rules.multitask_paper_figures.output,
        # The store and every run in it are targets too: Snakemake deletes the output of a failed store job
        # and would otherwise not rebuild it (nor a deleted run) while the tables made from them are there.
        list(STORE.values()),
        [run for runs in STORE_RUNS.values() for run in runs],
