# Reproduction workflow: MTAAL (Zhou et al., AAAI 2021) and multitask transformer NER
# (Rodriguez, Nguyen & McInnes, J Biomed Inform 2022). See README.md and docs/.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/download.smk"
include: "rules/preprocess.smk"
include: "rules/mtaal.smk"
include: "rules/multitask.smk"
include: "rules/results.smk"


# On a cluster these run where Snakemake runs: downloads need the login node's network (compute nodes
# often have none) and take seconds; the target rules run nothing.
localrules:
    download,
    all,
    corpora,
    mtaal,
    mtaal_curves,
    multitask,
    results,


rule all:
    default_target: True
    input:
        rules.corpora.input,
        rules.mtaal.input,
        rules.multitask.input,
        rules.results.input,
