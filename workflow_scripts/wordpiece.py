from mtaal.multitask.encoder_specs import revision_of, tokenizer_spec_of
from mtaal.multitask.sequence_table import write_sequence_table
from mtaal.multitask.wordpiece import build_wordpiece
from mtaal.workflow import rule_logging

# Two rules share this adapter: `wordpiece` (one dataset, one encoder) and `wordpiece_table` (all datasets).
with rule_logging(snakemake.log):
    if snakemake.rule == "wordpiece_table":
        write_sequence_table(snakemake.input.data, snakemake.output.table, snakemake.output.table_md)
    else:
        spec, lowercase = tokenizer_spec_of(snakemake.params.encoder)
        build_wordpiece(
            snakemake.input.tokens,
            snakemake.output.data,
            snakemake.output.meta,
            dataset=snakemake.wildcards.dataset,
            encoder=snakemake.wildcards.encoder,
            tokenizer_spec=spec,
            lowercase=lowercase,
            max_len=snakemake.params.max_len,
            packing=snakemake.params.packing,
            entity_types=snakemake.params.entity_types,
            revision=revision_of(snakemake.params.encoder),
        )
