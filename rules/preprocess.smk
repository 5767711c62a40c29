# Stage 2: raw corpus -> tidy documents / mentions / tokens / problems tables per dataset,
# corpus statistics and coverage, and the MTAAL sentence pool split.


rule build_dataset:
    input:
        corpus=lambda w: f"results/raw/{corpus_of(w)}/download.json",
        files=lambda w: f"results/raw/{corpus_of(w)}/files",
        splits="results/raw/huner_splits/files",
        patches="results/raw/huner_patches/files",
    output:
        **{table: f"results/corpora/{{dataset}}/{table}.parquet" for table in TABLES},
        summary="results/corpora/{dataset}/summary.json",
    log:
        "results/logs/build_dataset/{dataset}.log",
    benchmark:
        "results/benchmarks/build_dataset/{dataset}.tsv"
    conda:
        "../envs/mtaal.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=20,
    params:
        # how the registry says to read this corpus and type / split this dataset
        registry_entry=lambda w: {
            "corpus": REGISTRY.corpus(corpus_of(w)).reading_fingerprint(),
            "dataset": REGISTRY.dataset(w.dataset).fingerprint(),
        },
        max_documents_per_split=config["max_documents_per_split"],
        apply_patches=config["apply_huner_patches"],
    script:
        "../workflow_scripts/build_dataset.py"


rule corpus_stats:
    input:
        summaries=expand("results/corpora/{dataset}/summary.json", dataset=DATASETS),
        tables=expand("results/corpora/{dataset}/{table}.parquet", dataset=DATASETS, table=TABLES),
    output:
        stats="results/tables/corpus_stats.parquet",
        stats_md="results/tables/corpus_stats.md",
        coverage="results/tables/corpus_coverage.parquet",
        coverage_md="results/tables/corpus_coverage.md",
    log:
        "results/logs/corpus_stats.log",
    benchmark:
        "results/benchmarks/corpus_stats.tsv"
    conda:
        "../envs/mtaal.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=10,
    script:
        "../workflow_scripts/corpus_stats.py"


rule mtaal_split:
    input:
        tokens="results/corpora/{dataset}/tokens.parquet",
        mentions="results/corpora/{dataset}/mentions.parquet",
    output:
        split="results/corpora/{dataset}/mtaal_split.parquet",
        labels="results/corpora/{dataset}/mtaal_labels.json",
    log:
        "results/logs/mtaal_split/{dataset}.log",
    benchmark:
        "results/benchmarks/mtaal_split/{dataset}.tsv"
    conda:
        "../envs/mtaal.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        # less the dataset list: adding a dataset must not redo the other datasets' splits
        settings={key: value for key, value in config["mtaal_data"].items() if key != "datasets"},
    script:
        "../workflow_scripts/mtaal_split.py"


rule corpora:
    input:
        rules.corpus_stats.output,
        expand("results/corpora/{dataset}/mtaal_split.parquet", dataset=MTAAL_DATASETS),
