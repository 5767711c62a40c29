"""The table of WordPiece sequence counts per encoder, dataset and split (parquet + markdown)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from mtaal.errors import CorpusFormatError
from mtaal.io import write_parquet, write_text
from mtaal.multitask.packing import PACKINGS
from mtaal.multitask.wordpiece import COUNT_COLUMNS, METADATA_KEY, PAPER_MAX_LEN, SPLITS

# Each split's sequences under either packing at the paper's 512 (Supplemental Table 1's setting).
PAPER_COUNT_COLUMNS = tuple(f"{packing}_sequences_{PAPER_MAX_LEN}" for packing in PACKINGS)


def sequence_table(paths: Iterable[str | Path]) -> pd.DataFrame:
    """Sequence counts per dataset and split, from the wordpiece parquet files (sequences and subwords are
    recounted from the rows; the rest comes from each file's metadata): ``packing`` is the table's,
    :data:`PAPER_COUNT_COLUMNS` the counts both packings give at 512 (null for tables built before)."""
    rows = []
    for path in paths:
        path = Path(path)
        schema = pq.read_schema(path)
        raw = (schema.metadata or {}).get(METADATA_KEY)
        if raw is None:
            raise CorpusFormatError(path, None, f"schema metadata {METADATA_KEY.decode()!r}")
        meta = json.loads(raw)
        data = pq.read_table(path, columns=["split", "input_ids"])
        lengths = pc.list_value_length(data["input_ids"]).to_numpy(zero_copy_only=False)
        splits = data["split"].to_numpy(zero_copy_only=False)
        for split, c in meta["counts"].items():
            in_split = splits == split
            n_seq = int(in_split.sum())
            if n_seq != c["sequences"]:
                expected = f"{c['sequences']} {split} sequences (metadata)"
                raise CorpusFormatError(path, None, expected, str(n_seq))
            tokens = int(lengths[in_split].sum())
            at_paper = {
                f"{packing}_sequences_{PAPER_MAX_LEN}":
                    meta.get("sequence_counts", {}).get(packing, {}).get(str(PAPER_MAX_LEN), {}).get(split)
                for packing in PACKINGS
            }
            rows.append(
                {
                    "encoder": meta.get("encoder") or meta["tokenizer"],
                    "dataset": meta["dataset"],
                    "split": split,
                    **{key: int(c[key]) for key in COUNT_COLUMNS},
                    "max_len": int(meta["max_len"]),
                    "packing": meta.get("packing", "document"),
                    "mean_length": tokens / n_seq if n_seq else 0.0,
                    "fill": tokens / (n_seq * meta["max_len"]) if n_seq else 0.0,
                    **at_paper,
                }
            )
    columns = ["encoder", "dataset", "split", *COUNT_COLUMNS, "max_len", "packing", "mean_length", "fill",
               *PAPER_COUNT_COLUMNS]
    table = pd.DataFrame(rows, columns=columns)
    table[list(PAPER_COUNT_COLUMNS)] = table[list(PAPER_COUNT_COLUMNS)].astype("Int64")
    rank = table["split"].map({s: i for i, s in enumerate(SPLITS)}).fillna(len(SPLITS))
    table = table.assign(_rank=rank).sort_values(["encoder", "dataset", "_rank", "split"], kind="stable")
    return table.drop(columns="_rank").reset_index(drop=True)


def write_sequence_table(
    paths: Iterable[str | Path], out_parquet: str | Path, out_md: str | Path
) -> pd.DataFrame:
    """Write :func:`sequence_table` as parquet and markdown."""
    table = sequence_table(paths)
    write_parquet(pa.Table.from_pandas(table, preserve_index=False), out_parquet)
    encoders = ", ".join(sorted(table["encoder"].unique())) if len(table) else "-"
    text = (
        f"# WordPiece sequences ({encoders})\n\n"
        "Sequences of at most `max_len` tokens ([CLS] and [SEP] included) per dataset and split, packed as "
        "`packing` says (`stream`: each split one stream of documents, the paper's; `document`: sequences "
        "within documents). `split_mentions` / `split_words`: mentions / words longer than a whole "
        "sequence, cut over sequences; `unk_words`: words that encode to nothing and became [UNK]; `fill`: "
        f"tokens / (sequences x max_len); `stream_sequences_{PAPER_MAX_LEN}` / "
        f"`document_sequences_{PAPER_MAX_LEN}`: the sequences either packing gives at the paper's "
        f"{PAPER_MAX_LEN} (Supplemental Fig. 1 / Table 1 count training sequences at that length, one "
        "stream per training set: CLL 14, CHEMDNER 4,182).\n\n"
        + table.to_markdown(index=False, floatfmt=".3f")
        + "\n"
    )
    write_text(text, out_md)
    return table
