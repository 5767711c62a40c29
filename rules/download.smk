# Stage 1: fetch each corpus from the mirror or its pinned URLs, verifying every sha256.


rule download:
    output:
        status="results/raw/{corpus}/download.json",
        files=directory("results/raw/{corpus}/files"),
    params:
        mirror=config["corpus_mirror"],
        on_missing=config["on_missing_corpus"],
        allow_unpinned=config["allow_unpinned_downloads"],
        policy=config["downloads"],
    log:
        "results/logs/download/{corpus}.log",
    benchmark:
        "results/benchmarks/download/{corpus}.tsv"
    threads: 1
    resources:
        mem_mb=512,
        runtime=30,
    conda:
        "../envs/mtaal.yaml"
    script:
        "../workflow_scripts/download.py"
