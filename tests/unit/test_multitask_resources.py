"""mem_mb of the transformer training jobs, against what was measured (mtaal/multitask/resources.py)."""

from mtaal.multitask.resources import BERT_BASE, encoder_shape, training_mem_mb

# max RSS of a MiniLM IEPA single-task run at 512 x 25, 20 epochs (reproductions/multitask-cpu/jobs.tsv)
MEASURED_MINILM_512x25_MB = 6361


def test_the_packaged_minilm_shape_and_bert_base():
    minilm = encoder_shape("minilm")
    assert (minilm.layers, minilm.hidden, minilm.heads) == (6, 384, 12)
    assert 22e6 < minilm.parameters < 23.5e6  # all-MiniLM-L6-v2: 22.7M
    assert 107e6 < BERT_BASE.parameters < 109e6  # BioBERT v1.1 base: 108M
    assert encoder_shape("dmis-lab/biobert-base-cased-v1.1") == BERT_BASE  # not on this machine: its shape


def test_declared_memory_covers_the_measured_run_and_scales_with_the_shape():
    minilm = encoder_shape("minilm")
    declared = training_mem_mb(minilm, 512, 25, 64)
    assert MEASURED_MINILM_512x25_MB < declared < 1.25 * MEASURED_MINILM_512x25_MB
    assert training_mem_mb(BERT_BASE, 512, 25, 64) > 2 * declared  # twice the layers, twice as wide
    assert training_mem_mb(minilm, 64, 8, 32) <= 3000  # the default tier: no longer the 6 GB it declared
    # on a GPU the host keeps only the CUDA context and the weights
    assert training_mem_mb(BERT_BASE, 512, 25, 64, gpus=1) == 5000
    assert training_mem_mb(BERT_BASE, 512, 25, 64, gpus=1, several_tasks=True) == 6000
    assert all(value % 500 == 0 for value in (declared, training_mem_mb(minilm, 64, 8, 32)))
