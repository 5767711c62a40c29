"""Short, stable names of settings: what a run's ``settings_hash`` is, for both papers' runs."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any


def settings_hash(values: Mapping[str, Any]) -> str:
    """16 hex digits of sha256 over ``values`` as sorted, compact JSON: a short, stable name of the
    settings (an MTAAL run's :meth:`~mtaal.active.settings.ALSettings.identity`, a transformer run's hashed
    settings, :func:`mtaal.multitask.identity.run_identity`)."""
    text = json.dumps(values, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
