from pathlib import Path

from mtaal.active.report import collect_rounds, sentence_tokens, write_tables
from mtaal.workflow import rule_logging

with rule_logging(snakemake.log):
    rounds = collect_rounds([Path(path) for path in [*snakemake.input.curves, *snakemake.input.diversity]])
    tokens = {Path(path).parent.name: sentence_tokens(Path(path)) for path in snakemake.input.tokens}
    write_tables(rounds, tokens, snakemake.params.report_after_round,
                 {name: Path(path) for name, path in snakemake.output.items()})
