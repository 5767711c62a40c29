"""A curator's project folder: layout, config, sentence / label stores and the manifest.

Layout::

    PROJECT/
      project.json        entity types, whether concept ids (NEN) are used, format version
      config.yaml         training and query settings (a new model, ``train --fresh``, reads them)
      concepts.txt        optional: the concept ids the NEN decoder may predict (one per line)
      manifest.jsonl      one event per line: seq, time (UTC), user, command, details
      .lock               held (flock) by the one command changing the project, naming it
      sentences/part-NNNNN.parquet   sentences added by ``add-text`` (the pool), append-only
      labels/part-NNNNN.parquet      labeled sentences added by ``add-labels``, append-only
      models/vNNNN/       model.safetensors + model.json, state.safetensors + state.json
      batches/batch-NNNN/ the sentences proposed by one ``query``

Sentence identity: ``<doc_id>:<sentence index>`` as in the workflow. Deduplication compares a sentence's
text with all whitespace removed (:func:`text_key`), so a CoNLL sentence (tokens joined by spaces) meets
its raw-text twin. The latest label part wins for a sentence labeled twice (a correction); the labeled
order (which the training shuffles index) is the order sentences were first labeled.
"""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from mtaal.errors import ConfigError, MtaalError
from mtaal.io import atomic_path, write_json, write_text

PROJECT_FORMAT = 1
PROJECT_FILE = "project.json"
CONFIG_FILE = "config.yaml"
CONCEPTS_FILE = "concepts.txt"
MANIFEST_FILE = "manifest.jsonl"
LOCK_FILE = ".lock"
ROW_GROUP_SIZE = 1024  # rows per parquet row group: the unit a random pool read loads
PART_COMMANDS = {"sentences": "add-text", "labels": "add-labels"}  # store -> the command writing its parts

SENTENCE_FIELDS = [
    ("sentence_id", pa.string()),
    ("doc_id", pa.string()),
    ("sentence", pa.int32()),
    ("text", pa.string()),
    ("tokens", pa.list_(pa.string())),
    ("starts", pa.list_(pa.int32())),
    ("ends", pa.list_(pa.int32())),
    ("n_tokens", pa.int32()),
    ("key", pa.string()),
]
SENTENCE_SCHEMA = pa.schema(SENTENCE_FIELDS)
# tags: IOB2 per token; concepts: the mention's concept id per token, null outside mentions / without one.
LABEL_SCHEMA = pa.schema([*SENTENCE_FIELDS, ("tags", pa.list_(pa.string())),
                          ("concepts", pa.list_(pa.string())), ("source", pa.string())])

DEFAULT_CONFIG: dict[str, Any] = {
    "embedding": "glove",
    "seed": 1,
    "strategy": "diversity",
    "use_td": True,
    "use_dd": True,
    "initial_epochs": 3,
    "epochs_per_round": 1,
    "warm_start": True,
    "dd_steps": 2,
    "batch_size": 32,
    "hidden": 32,
    "char_dim": 30,
    "lr": 0.001,
    "betas": [0.9, 0.9],
    "adversarial_lr": 0.0001,
    "scoring_batch_size": 256,
    "min_words": 5,
    "max_words": 60,
    "query_chunk_sentences": 8192,
    "device": "auto",
}
CONFIG_COMMENTS = {
    "embedding": "glove (packaged GloVe 6B 50d), random, or a word2vec text/binary file",
    "strategy": "default for `mtaal query`: diversity, lc, entropy, mnlp or random",
    "use_td": "task discriminator: needs concept ids (NER + NEN)",
    "use_dd": "diversity discriminator, trained before each query",
    "warm_start": "false: every train re-initialises the weights",
    "min_words": "the pool holds sentences of more than min_words words ...",
    "max_words": "... and fewer than max_words (the workflow's rule)",
    "query_chunk_sentences": "pool sentences scored per chunk (memory bound of `query`)",
}
_TYPE_NAME = re.compile(r"[A-Za-z0-9_.]+")


def text_key(text: str) -> str:
    """Dedup key: a digest of the text with every whitespace character removed."""
    return hashlib.blake2b("".join(text.split()).encode("utf-8"), digest_size=12).hexdigest()


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class ProjectError(MtaalError):
    """A project folder is missing, damaged or used the wrong way."""


@dataclass
class Project:
    root: Path
    entity_types: list[str]
    concepts: bool

    # ------------------------------------------------------------------ creation and loading

    @classmethod
    def init(cls, root: str | Path, entity_types: Iterable[str], concepts: bool | str | Path = False,
             config: Mapping[str, Any] | None = None) -> Project:
        """Create the folder. ``concepts``: True for NEN, or a file of concept ids (one per line)."""
        root = Path(root)
        if (root / PROJECT_FILE).exists():
            raise ProjectError(f"{root}: already a mtaal project ({PROJECT_FILE} exists)")
        types = [t.strip() for t in entity_types if t.strip()]
        if not types:
            raise ProjectError("--entity-types: give at least one entity type, e.g. disease,chemical")
        bad = [t for t in types if not _TYPE_NAME.fullmatch(t)]
        if bad or len({t.lower() for t in types}) != len(types):
            raise ProjectError(f"--entity-types: distinct names of letters, digits, '_' or '.', got {types}")
        concept_ids: list[str] | None = None
        if isinstance(concepts, str | Path) and not isinstance(concepts, bool):
            concept_ids = read_concept_list(Path(concepts))
        settings = dict(DEFAULT_CONFIG)
        settings["use_td"] = bool(concepts)
        settings.update(config or {})
        validate_config(settings, Path(root) / CONFIG_FILE)
        root.mkdir(parents=True, exist_ok=True)
        write_json({"format": PROJECT_FORMAT, "entity_types": types, "concepts": bool(concepts)},
                   root / PROJECT_FILE)
        write_text(render_config(settings), root / CONFIG_FILE)
        if concept_ids is not None:
            write_text("".join(f"{c}\n" for c in concept_ids), root / CONCEPTS_FILE)
        project = cls(root, types, bool(concepts))
        project.log("init", {"entity_types": types, "concepts": bool(concepts),
                             "concept_list": len(concept_ids) if concept_ids is not None else None})
        return project

    @classmethod
    def open(cls, root: str | Path) -> Project:
        root = Path(root)
        path = root / PROJECT_FILE
        if not path.is_file():
            raise ProjectError(f"{root}: not a mtaal project (no {PROJECT_FILE}); create one with "
                               "`mtaal init`")
        meta = json.loads(path.read_text(encoding="utf-8"))
        if meta.get("format") != PROJECT_FORMAT:
            raise ProjectError(f"{path}: project format {meta.get('format')!r}, this mtaal reads "
                               f"{PROJECT_FORMAT}")
        project = cls(root, list(meta["entity_types"]), bool(meta["concepts"]))
        project.check_parts()
        return project

    # ------------------------------------------------------------------ config

    def config(self) -> dict[str, Any]:
        path = self.root / CONFIG_FILE
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: expected a mapping of settings")
        settings = dict(DEFAULT_CONFIG)
        settings.update(loaded)
        validate_config(settings, path)
        return settings

    def concept_list(self) -> list[str] | None:
        path = self.root / CONCEPTS_FILE
        return read_concept_list(path) if path.is_file() else None

    # ------------------------------------------------------------------ manifest

    @contextlib.contextmanager
    def lock(self, command: str) -> Iterator[None]:
        """Hold the project for one changing command; a second one fails at once, naming the first.

        An OS lock (``flock``) on ``PROJECT/.lock``: the kernel drops it when the holder exits, even on a
        crash, so a stale lock never blocks a project.
        """
        path = self.root / LOCK_FILE
        with open(path, "a+", encoding="utf-8") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                raise ProjectError(f"{self.root}: in use by {holder}; run one mtaal command at a time on a "
                                   "project (wait for it to finish)") from None
            handle.seek(0)
            handle.truncate()
            handle.write(f"`mtaal {command}` (pid {os.getpid()}, user {getpass.getuser()}, since {now()})")
            handle.flush()
            try:
                yield
            finally:
                handle.truncate(0)
                fcntl.flock(handle, fcntl.LOCK_UN)

    def log(self, command: str, details: Mapping[str, Any]) -> dict[str, Any]:
        """Append one event (atomically: the file is rewritten through a temporary copy)."""
        path = self.root / MANIFEST_FILE
        old = path.read_text(encoding="utf-8") if path.is_file() else ""
        event = {"seq": old.count("\n") + 1, "time": now(), "user": getpass.getuser(), "command": command,
                 "details": dict(details)}
        write_text(old + json.dumps(event, ensure_ascii=False, sort_keys=True) + "\n", path)
        return event

    def events(self, command: str | None = None) -> list[dict[str, Any]]:
        path = self.root / MANIFEST_FILE
        if not path.is_file():
            return []
        events = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
        return [e for e in events if command is None or e["command"] == command]

    # ------------------------------------------------------------------ stores

    def parts(self, kind: str) -> list[Path]:
        return sorted((self.root / kind).glob("part-*.parquet"))

    def check_parts(self) -> None:
        """Stop on a store part that is not a readable parquet file, naming it and the command (with the
        files the manifest says it came from) that makes it again."""
        for kind, command in PART_COMMANDS.items():
            for part in self.parts(kind):
                try:
                    pq.read_metadata(part)
                except (pa.ArrowException, OSError) as error:
                    raise ProjectError(self._damaged(part, command, error)) from None

    def _damaged(self, part: Path, command: str, error: Exception) -> str:
        relative = str(part.relative_to(self.root))
        files = next((event["details"]["files"] for event in self.events(command)
                      if event["details"].get("part") == relative), ["<the files it came from>"])
        again = f"mtaal {command} {self.root} {' '.join(files)}"
        return (f"{part}: not a readable parquet file ({error}); `mtaal {command}` wrote it. Move it out of "
                f"{part.parent}, then run `{again}` again")

    def write_part(self, kind: str, table: pa.Table) -> Path:
        with self.part_writer(kind, table.schema) as part:
            part.write(table)
        return part.path

    @contextlib.contextmanager
    def part_writer(self, kind: str, schema: pa.Schema) -> Iterator[PartWriter]:
        """The next part of a store, written a batch at a time (see :class:`PartWriter`)."""
        # after the highest number, not the count: a part moved out leaves a gap, not a name to overwrite
        numbers = [name.removeprefix("part-") for name in (part.stem for part in self.parts(kind))]
        number = max((int(n) for n in numbers if n.isdigit()), default=0) + 1
        path = self.root / kind / f"part-{number:05d}.parquet"
        with contextlib.ExitStack() as stack:
            yield PartWriter(path, schema, stack)

    def sentence_index(self) -> dict[str, tuple[str, str]]:
        """Every sentence id in the project (pool and labeled) -> (text key, document id)."""
        index: dict[str, tuple[str, str]] = {}
        for kind in ("sentences", "labels"):
            for part in self.parts(kind):
                table = pq.read_table(part, columns=["sentence_id", "key", "doc_id"])
                for sid, key, doc in zip(*(table.column(i).to_pylist() for i in range(3)), strict=True):
                    index.setdefault(sid, (key, doc))
        return index

    def labeled(self) -> dict[str, dict[str, Any]]:
        """Labeled sentences, in the order first labeled; each the row of its latest label part."""
        rows: dict[str, dict[str, Any]] = {}
        for part in self.parts("labels"):
            for row in pq.read_table(part).to_pylist():
                rows[row["sentence_id"]] = row  # an existing key keeps its position
        return rows

    def queried(self) -> dict[str, int]:
        """Sentence id -> the batch that proposed it."""
        out: dict[str, int] = {}
        for event in self.events("query"):
            for sid in event["details"]["sentence_ids"]:
                out.setdefault(sid, event["details"]["batch"])
        return out

    def model_versions(self) -> list[int]:
        folders = (self.root / "models").glob("v*")
        return sorted(int(p.name[1:]) for p in folders if (p / "model.json").is_file())

    def model_dir(self, version: int) -> Path:
        return self.root / "models" / f"v{version:04d}"


class PartWriter:
    """One new store part written batch by batch: the file appears when the ``part_writer`` block ends
    without an error, and only if a batch was written."""

    def __init__(self, path: Path, schema: pa.Schema, stack: contextlib.ExitStack):
        self.path, self.rows = path, 0
        self._schema, self._stack = schema, stack
        self._writer: pq.ParquetWriter | None = None

    def write(self, table: pa.Table) -> None:
        if self._writer is None:
            temporary = self._stack.enter_context(atomic_path(self.path))
            self._writer = self._stack.enter_context(pq.ParquetWriter(temporary, self._schema))
        self._writer.write_table(table, row_group_size=ROW_GROUP_SIZE)
        self.rows += table.num_rows


def read_concept_list(path: Path) -> list[str]:
    """Sorted distinct ids of a one-id-per-line file (blank lines and ``#`` comments skipped)."""
    if not path.is_file():
        raise ProjectError(f"{path}: concept list not found (one concept id per line)")
    ids: list[str] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        value = line.strip()
        if not value or value.startswith("#"):
            continue
        if len(value.split()) != 1:
            raise ProjectError(f"{path}:{number}: expected one concept id per line, found {line!r}")
        ids.append(value)
    return sorted(set(ids))


def validate_config(settings: Mapping[str, Any], path: Path) -> None:
    unknown = sorted(set(settings) - set(DEFAULT_CONFIG))
    if unknown:
        raise ConfigError(f"{path}: unknown settings {unknown}; known: {sorted(DEFAULT_CONFIG)}")
    for key in ("min_words", "max_words", "query_chunk_sentences"):
        value = settings[key]
        if not isinstance(value, int) or isinstance(value, bool) or value < (1 if key != "min_words" else 0):
            raise ConfigError(f"{path}: {key} must be a positive integer, got {value!r}")
    if not isinstance(settings["embedding"], str) or not settings["embedding"]:
        raise ConfigError(f"{path}: embedding must be glove, random or a vectors file path")


def render_config(settings: Mapping[str, Any]) -> str:
    lines = ["# mtaal curator project settings. `mtaal train --fresh` starts a model with these values;",
             "# an existing model keeps the settings it was created with (models/vNNNN/model.json).", ""]
    for key, value in settings.items():
        text = yaml.safe_dump({key: value}, default_flow_style=True, width=200).strip()
        text = text.removeprefix("{").removesuffix("}")
        comment = CONFIG_COMMENTS.get(key)
        lines.append(f"{text}  # {comment}" if comment else text)
    return "\n".join(lines) + "\n"
