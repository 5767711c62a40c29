"""What one MTAAL active-learning run is: its settings (:class:`ALSettings`; what a checkpoint must share
with the run resuming it), the independent seed streams they give, and the columns of the rows the run
writes (:data:`ROUND_SCHEMA`, one row per round; :data:`IDENTITY_SCHEMA`, who the run is). The loop that
plays the rounds: :mod:`mtaal.active.loop`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import pyarrow as pa
import torch

from mtaal.active import metrics as M
from mtaal.active.network import CHAR_ENCODERS, CHAR_INITS, DISCRIMINATORS, TASKS, ModelSettings
from mtaal.active.strategies import STRATEGIES
from mtaal.errors import ConfigError
from mtaal.hashing import settings_hash

ROUND_SCHEMA = pa.schema(
    [
        ("dataset", pa.string()),
        ("embedding", pa.string()),
        ("tasks", pa.string()),
        ("strategy", pa.string()),
        ("use_td", pa.bool_()),
        ("use_dd", pa.bool_()),
        ("seed", pa.int64()),
        ("round", pa.int64()),
        ("labeled_count", pa.int64()),
        *((name, pa.float64()) for name in (*M.TEST_METRICS, *M.ALL_O_METRICS)),
        ("task_loss", pa.float64()),
        ("wall_seconds", pa.float64()),
        # Over every sentence queried up to this round (paper Table 4); null in the rows a checkpoint
        # written before they existed carried over.
        *((name, pa.int64()) for name in M.QUERY_METRICS),
        ("selected_ids", pa.list_(pa.string())),
        # The labeled set's annotation cost after the round (words, mentions; sentences: labeled_count).
        *((name, pa.int64()) for name in M.COST_METRICS),
    ]
)
ROUND_COLUMNS = tuple(ROUND_SCHEMA.names)
# Who a finished run is, written with its rounds (every row) so that no reader takes it from a path:
# the caller's names (paper, experiment = study, variant, tier) and what the run itself knows.
IDENTITY_SCHEMA = pa.schema(
    [
        ("paper", pa.string()),
        ("experiment", pa.string()),
        ("variant", pa.string()),
        ("tier", pa.string()),
        ("settings_hash", pa.string()),  # sha256 of the settings a resumption must share, 16 hex digits
        ("available_sentences", pa.int64()),  # initial labeled set + unlabeled pool after the caps
    ]
)
IDENTITY_NAMES = ("paper", "experiment", "variant", "tier")
# Settings that may change between a checkpoint and its resumption.
RESUMABLE_CHANGES = ("rounds", "device")
# Settings added after checkpoints were written, with their defaults.
ADDED_DEFAULTS = {"length_buckets": 0, "word_vectors": "pretrained", "char_encoders": "shared"}
# Word embeddings: the vectors file's rows, frozen (paper); or what the released code actually trains
# (FIDELITY.md, "Word embeddings"): a random uniform(+-0.05) matrix in the release's 300 dimensions,
# trained by the task solver (the vectors file then only names the run).
WORD_VECTORS = ("pretrained", "release_random")


@dataclass(frozen=True)
class ALSettings:
    """One active-learning run. ``tasks`` is a subset of ("ner", "nen"), stored in that order.

    ``max_pool_sentences`` / ``max_labeled_sentences`` draw seeded samples of the unlabeled pool and the
    initial labeled set (per seed), ``max_test_sentences`` a fixed sample of the test set (the same for every
    run). ``device`` "auto" takes CUDA when available. ``length_buckets`` > 0 trains on batches of similar
    sentence lengths (each window of that many batches of the shuffle sorted by length, the batches then
    shuffled: the same sentences per epoch, less padding, other batches than the release's; 0: off).
    """

    dataset: str
    embedding: str
    tasks: tuple[str, ...] = TASKS
    strategy: str = "diversity"
    use_td: bool = True
    use_dd: bool = True
    seed: int = 1
    rounds: int = 10
    query_size: int = 25
    epochs_per_round: int = 1
    initial_epochs: int = 1
    warm_start: bool = True
    batch_size: int = 32
    hidden: int = 64
    char_dim: int = 30
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.9)
    adversarial_lr: float = 1e-4
    dd_steps: int = 1
    char_init: str = "paper"
    discriminators: str = "sentence"
    drop_last_batch: bool = False
    entropy_aggregate: str = "sum"
    mnlp_form: str = "shen"
    random_with_replacement: bool = False
    release_test_shuffle: bool = False
    scoring_batch_size: int = 256
    length_buckets: int = 0
    word_vectors: str = "pretrained"
    char_encoders: str = "shared"
    max_pool_sentences: int | None = None
    max_labeled_sentences: int | None = None
    max_test_sentences: int | None = None
    device: str = "auto"

    def __post_init__(self) -> None:
        tasks = tuple(self.tasks) if not isinstance(self.tasks, str) else (self.tasks,)
        if not tasks or not set(tasks) <= set(TASKS) or len(set(tasks)) != len(tasks):
            raise ConfigError(f"ALSettings.tasks: a non-empty subset of {TASKS}, got {list(tasks)}")
        object.__setattr__(self, "tasks", tuple(t for t in TASKS if t in tasks))
        object.__setattr__(self, "betas", tuple(float(b) for b in self.betas))
        if self.strategy not in STRATEGIES:
            raise ConfigError(f"ALSettings.strategy: one of {sorted(STRATEGIES)}, got {self.strategy!r}")
        if self.use_td and len(self.tasks) != len(TASKS):
            raise ConfigError("ALSettings.use_td needs both tasks (the task discriminator tells NER / NEN)")
        minimum = {
            "rounds": 0, "query_size": 1, "epochs_per_round": 1, "initial_epochs": 0, "batch_size": 1,
            "hidden": 1, "char_dim": 1, "dd_steps": 0, "scoring_batch_size": 1, "length_buckets": 0,
        }
        for name, low in minimum.items():
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ConfigError(f"ALSettings.{name}: an integer >= {low}, got {value!r}")
        for name in ("max_pool_sentences", "max_test_sentences", "max_labeled_sentences"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ConfigError(f"ALSettings.{name}: null or an integer >= 1, got {value!r}")
        if not self.warm_start and self.initial_epochs == 0:
            raise ConfigError("ALSettings: warm_start false retrains every round for initial_epochs; "
                              "needs >= 1")
        choices = {"char_init": CHAR_INITS, "discriminators": DISCRIMINATORS,
                   "entropy_aggregate": ("sum", "max"), "mnlp_form": ("shen", "release"),
                   "word_vectors": WORD_VECTORS, "char_encoders": CHAR_ENCODERS}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ConfigError(f"ALSettings.{name}: one of {allowed}, got {getattr(self, name)!r}")
        if self.device != "auto":
            torch.device(self.device)  # raises on a malformed name

    def strategy_options(self) -> dict[str, Any]:
        """Constructor options of the run's strategy (the release's forms when asked for)."""
        return {
            "entropy": {"aggregate": self.entropy_aggregate},
            "mnlp": {"release_form": self.mnlp_form == "release"},
            "random": {"replace": self.random_with_replacement},
        }.get(self.strategy, {})

    @property
    def model_settings(self) -> ModelSettings:
        """The network's parts: DD exists when trained (``use_dd``) or read (diversity strategy)."""
        return ModelSettings(
            tasks=frozenset(self.tasks), use_td=self.use_td,
            use_dd=self.use_dd or self.strategy == "diversity",
        )

    def resolved_device(self) -> torch.device:
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(self.device)

    def as_dict(self) -> dict[str, Any]:
        """Plain values only (lists for tuples): fits a ``weights_only`` checkpoint and JSON."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    def settings_hash(self) -> str:
        """16 hex digits of sha256 over :meth:`identity` (what a resumed run must share)."""
        return settings_hash(self.identity())

    def identity(self) -> dict[str, Any]:
        """The settings a checkpoint must share with the run resuming it (a later-added setting at its
        default left out, so checkpoints written before it existed still resume)."""
        return {k: v for k, v in self.as_dict().items()
                if k not in RESUMABLE_CHANGES and not (k in ADDED_DEFAULTS and v == ADDED_DEFAULTS[k])}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ALSettings:
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ConfigError(f"ALSettings: unknown settings {sorted(unknown)}")
        return cls(**{k: tuple(v) if k in ("tasks", "betas") else v for k, v in values.items()})


def seed_streams(seed: int) -> dict[str, np.random.SeedSequence]:
    """Independent seed sequences of a run: loop shuffles and sampling, OOV embedding rows, pool sample,
    initial labeled sample."""
    loop, embedding, pool, labeled = np.random.SeedSequence(seed).spawn(4)
    return {"loop": loop, "embedding": embedding, "pool": pool, "labeled": labeled}
