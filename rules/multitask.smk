# Stage 4 (Rodriguez, Nguyen & McInnes 2022): WordPiece preprocessing per (encoder, dataset), then one
# training job per run: STL per task, MTL on all tasks, both at every data-ablation amount; MTL without
# each entity group and the held-out tasks fine-tuned from it; then the paper's tables and figures.
#
# Resources of the training rules: gpu = multitask.gpus_per_run (the profiles allow gpu=1 at a time, so a
# GPU runs one training job at a time); mem_mb from the encoder's shape, max_len and the batch sizes
# (mtaal/multitask/resources.py: weights, optimiser state and activations on the CPU, only the CUDA context
# and the weights on a GPU; calibrated on a MiniLM 512 x 25 run that peaked at 6.4 GB).

from mtaal.multitask.resources import encoder_shape, training_mem_mb

MULTITASK_TRAINING = MULTITASK["training"]


def training_mem(several_tasks):
    return training_mem_mb(
        encoder_shape(MULTITASK["encoders"][ENCODER]["model"]),
        MULTITASK["max_len"],
        MULTITASK_TRAINING["batch_size"],
        MULTITASK_TRAINING.get("eval_batch_size", 64),
        gpus=MULTITASK["gpus_per_run"],
        several_tasks=several_tasks,
    )


wildcard_constraints:
    encoder="|".join(sorted(MULTITASK["encoders"])),
    fraction=r"[0-9.]+",


rule wordpiece:
    input:
        tokens="results/corpora/{dataset}/tokens.parquet",
    output:
        data="results/wordpiece/{encoder}/{dataset}.parquet",
        meta="results/wordpiece/{encoder}/{dataset}.json",
    log:
        "results/logs/wordpiece/{encoder}/{dataset}.log",
    benchmark:
        "results/benchmarks/wordpiece/{encoder}/{dataset}.tsv"
    conda:
        "../envs/mtaal.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=10,
    params:
        encoder=lambda w: MULTITASK["encoders"][w.encoder],
        max_len=MULTITASK["max_len"],
        packing=MULTITASK.get("packing", "stream"),
        entity_types=lambda w: sorted(set(REGISTRY.dataset(w.dataset).entity_types.values())),
    script:
        "../workflow_scripts/wordpiece.py"


rule wordpiece_table:
    input:
        data=expand("results/wordpiece/{{encoder}}/{dataset}.parquet", dataset=HUNER_TASKS),
    output:
        table="results/tables/wordpiece_{encoder}.parquet",
        table_md="results/tables/wordpiece_{encoder}.md",
    log:
        "results/logs/wordpiece/{encoder}/table.log",
    benchmark:
        "results/benchmarks/wordpiece/{encoder}/table.tsv"
    conda:
        "../envs/mtaal.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    script:
        "../workflow_scripts/wordpiece.py"


rule multitask_stl:
    input:
        unpack(lambda w: task_inputs([w.group])),
    output:
        best=run_path("stl", "best.json"),
        epochs=run_path("stl", "epochs.parquet"),
    log:
        "results/logs/multitask/{encoder}/stl/{group}/ablation{fraction}/seed{seed}.log",
    benchmark:
        "results/benchmarks/multitask/{encoder}/stl/{group}/ablation{fraction}/seed{seed}.tsv"
    conda:
        "../envs/mtaal.yaml"
    threads: 1
    resources:
        mem_mb=training_mem(several_tasks=False),
        runtime=MULTITASK["runtime_minutes"],
        gpu=MULTITASK["gpus_per_run"],
    params:
        **run_rule_settings("stl"),
        identity=lambda w: identity_params("stl", w.group, [w.group]),
        save_encoder=False,
    script:
        "../workflow_scripts/multitask_run.py"


rule multitask_mtl:
    input:
        **task_inputs(HUNER_TASKS),
    output:
        best=run_path("mtl", "best.json", group="all"),
        epochs=run_path("mtl", "epochs.parquet", group="all"),
    log:
        "results/logs/multitask/{encoder}/mtl/all/ablation{fraction}/seed{seed}.log",
    benchmark:
        "results/benchmarks/multitask/{encoder}/mtl/all/ablation{fraction}/seed{seed}.tsv"
    # the longest transformer runs: start as soon as their inputs exist, not after the short ones
    priority: 10
    conda:
        "../envs/mtaal.yaml"
    threads: 1
    resources:
        mem_mb=training_mem(several_tasks=True),
        runtime=MULTITASK["runtime_minutes"] * 4,
        gpu=MULTITASK["gpus_per_run"],
    params:
        **run_rule_settings("mtl", "all"),
        identity=identity_params("mtl", "all", HUNER_TASKS),
        save_encoder=False,
    script:
        "../workflow_scripts/multitask_run.py"


rule multitask_mtl_without:
    input:
        unpack(lambda w: task_inputs(without_group(w.group))),
    output:
        best=run_path("mtl_without", "best.json"),
        epochs=run_path("mtl_without", "epochs.parquet"),
        encoder=directory(run_path("mtl_without", "encoder")),
    log:
        "results/logs/multitask/{encoder}/mtl_without/{group}/ablation{fraction}/seed{seed}.log",
    benchmark:
        "results/benchmarks/multitask/{encoder}/mtl_without/{group}/ablation{fraction}/seed{seed}.tsv"
    wildcard_constraints:
        group="|".join(ENTITY_GROUPS),
        fraction="0",
    # long, and the fine-tuning runs wait on it: start as soon as its inputs exist
    priority: 10
    conda:
        "../envs/mtaal.yaml"
    threads: 1
    resources:
        mem_mb=training_mem(several_tasks=True),
        runtime=MULTITASK["runtime_minutes"] * 4,
        gpu=MULTITASK["gpus_per_run"],
    params:
        **run_rule_settings("mtl_without"),
        identity=lambda w: identity_params("mtl_without", w.group, without_group(w.group)),
        save_encoder=True,
    script:
        "../workflow_scripts/multitask_run.py"


rule multitask_finetune:
    input:
        unpack(lambda w: task_inputs([w.group])),
        init_encoder=lambda w: run_path(
            "mtl_without", "encoder", group=task_entity(REGISTRY, w.group)
        ).format(encoder=w.encoder, fraction="0", seed=w.seed),
    output:
        best=run_path("finetune", "best.json"),
        epochs=run_path("finetune", "epochs.parquet"),
    log:
        "results/logs/multitask/{encoder}/finetune/{group}/ablation{fraction}/seed{seed}.log",
    benchmark:
        "results/benchmarks/multitask/{encoder}/finetune/{group}/ablation{fraction}/seed{seed}.tsv"
    conda:
        "../envs/mtaal.yaml"
    threads: 1
    resources:
        mem_mb=training_mem(several_tasks=False),
        runtime=MULTITASK["runtime_minutes"],
        gpu=MULTITASK["gpus_per_run"],
    params:
        **run_rule_settings("finetune"),
        identity=lambda w: identity_params("finetune", w.group, [w.group]),
        save_encoder=False,
    script:
        "../workflow_scripts/multitask_run.py"


rule multitask_report:
    input:
        store="results/store/paper=multitask",  # the runs, as rule results_store wrote them
        corpus_stats="results/tables/corpus_stats.parquet",
        sequences=f"results/tables/wordpiece_{ENCODER}.parquet",
    output:
        report(
            directory(f"results/multitask/{ENCODER}/report"),
            patterns=["{name}.png"],
            caption="../report/multitask_figure.rst",
            category="Multitask NER (Rodriguez et al. 2022)",
            subcategory="Figures",
        ),
    log:
        "results/logs/multitask/report.log",
    benchmark:
        "results/benchmarks/multitask/report.tsv"
    conda:
        "../envs/mtaal.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=10,
    params:
        encoder=ENCODER,
        registry_types=REGISTRY_TYPES,  # Table 1's tasks without runs
    script:
        "../workflow_scripts/multitask_report.py"


rule multitask:
    input:
        rules.multitask_report.output,
        expand("results/tables/wordpiece_{encoder}.md", encoder=MULTITASK["wordpiece_encoders"]),
