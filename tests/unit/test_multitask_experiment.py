import pandas as pd

from mtaal.multitask.experiment import cap_table


def table():
    rows = []
    for split, n_docs in (("train", 10), ("dev", 4), ("test", 4)):
        for doc in range(n_docs):
            for sequence in range(3):
                rows.append({"split": split, "doc_id": f"{split}{doc}", "sequence": sequence})
    return pd.DataFrame(rows)


def test_training_cap_is_a_fixed_sample_and_eval_cap_keeps_whole_documents():
    capped = cap_table(table(), max_train=7, max_eval=7)
    train = capped[capped["split"] == "train"]
    assert len(train) == 7
    assert train.equals(cap_table(table(), max_train=7, max_eval=7).query("split == 'train'"))
    for split in ("dev", "test"):
        kept = capped[capped["split"] == split]
        assert list(kept["doc_id"].unique()) == [f"{split}0", f"{split}1"]
        assert kept.groupby("doc_id").size().eq(3).all()


def test_no_cap_keeps_everything_and_a_huge_first_document_is_still_kept():
    assert len(cap_table(table(), None, None)) == len(table())
    capped = cap_table(table(), None, 2)
    assert capped[capped["split"] == "dev"]["doc_id"].unique().tolist() == ["dev0"]

