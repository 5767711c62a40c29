# Stage 1: fetch each corpus from the mirror or its pinned URLs, verifying every sha256.


rule download:
    output:
        status="results/raw/{corpus}/download.json",
        files=directory("results/raw/{corpus}/files"),
    log:
        "results/logs/download/{corpus}.log",
    benchmark:
        "results/benchmarks/download/{corpus}.tsv"
    conda:
        "../envs/mtaal.yaml"
    threads: 1
    resources:
        mem_mb=512,
        runtime=30,
    params:
        # this corpus's files and digests in the registry: editing its entry reruns it and what reads it
        registry_entry=lambda w: REGISTRY.corpus(w.corpus).download_fingerprint(),
        mirror=config["corpus_mirror"],
        on_missing=config["on_missing_corpus"],
        allow_unpinned=config["allow_unpinned_downloads"],
    script:
        "../workflow_scripts/download.py"
