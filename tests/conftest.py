import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"


def _mirror_dir() -> Path | None:
    configured = os.environ.get("MTAAL_CORPUS_MIRROR")
    candidate = Path(configured) if configured else REPO.parent / "shared" / "corpora"
    return candidate if (candidate / "MANIFEST.tsv").is_file() else None


@pytest.fixture(scope="session")
def mirror() -> Path:
    """The corpus mirror; tests that need real corpora skip, saying why, without it."""
    found = _mirror_dir()
    if found is None:
        pytest.skip("corpus mirror not found: set MTAAL_CORPUS_MIRROR or place it at ../shared/corpora")
    return found


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny tensors: thread start-up costs more than it saves (and CI machines are shared)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
