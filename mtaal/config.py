"""Checks that span several config keys, which a JSON schema cannot express.

Run right after the schema validation, by ``mtaal`` (every command) and by ``rules/common.smk``, so a
bad combination stops before any job runs.
"""

from __future__ import annotations

from mtaal.errors import ConfigError


def check_config(config: dict) -> None:
    """Raise ConfigError listing every cross-key problem of a schema-valid config."""
    problems = []
    split = config["mtaal_data"]
    fractions = [split[f"{name}_fraction"] for name in ("labeled", "unlabeled", "test")]
    # 1e-6: fractions written with a few decimals; 10 digits show what is off (:g rounded 1.0000001 to 1)
    if split["split_mode"] == "pooled" and abs(sum(fractions) - 1.0) > 1e-6:
        problems.append(
            "mtaal_data: labeled_fraction + unlabeled_fraction + test_fraction must be 1 in pooled mode "
            "(within 1e-6), got " + " + ".join(f"{value:.10g}" for value in fractions)
            + f" = {sum(fractions):.10g}"
        )
    datasets = set(config["datasets"])
    for key, named in (("mtaal_data.datasets", split["datasets"]),
                       ("mtaal.datasets", config["mtaal"]["datasets"])):
        if outside := [name for name in named if name not in datasets]:
            problems.append(f"{key}: {', '.join(outside)} not in `datasets` (add it there or remove it here)")
    if unsplit := [name for name in config["mtaal"]["datasets"] if name not in split["datasets"]]:
        problems.append(f"mtaal.datasets: {', '.join(unsplit)} not in mtaal_data.datasets (no MTAAL split)")
    mtaal = config["mtaal"]
    for study in ("curves", "diversity"):
        for key in ("variants", "variant_seeds", "variant_embeddings"):
            named = mtaal[study].get(key) or []
            if unknown := [name for name in named if name not in mtaal["variants"]]:
                problems.append(f"mtaal.{study}.{key}: {', '.join(unknown)} not in mtaal.variants "
                                f"(known: {', '.join(sorted(mtaal['variants']))})")
        for variant, embeddings in (mtaal[study].get("variant_embeddings") or {}).items():
            if unknown := [name for name in embeddings if name not in mtaal["embeddings"]]:
                problems.append(f"mtaal.{study}.variant_embeddings.{variant}: {', '.join(unknown)} not in "
                                f"mtaal.embeddings ({', '.join(mtaal['embeddings'])})")
    if "user" in mtaal["embeddings"] and not mtaal["user_vectors"]:
        problems.append("mtaal.embeddings: `user` needs mtaal.user_vectors: {path: <vectors file>}")
    multitask = config["multitask"]
    encoders = multitask["encoders"]
    for key, named in (("multitask.encoder", [multitask["encoder"]]),
                       ("multitask.wordpiece_encoders", multitask["wordpiece_encoders"])):
        if unknown := [name for name in named if name not in encoders]:
            problems.append(f"{key}: {', '.join(unknown)} not in multitask.encoders "
                            f"(known: {', '.join(sorted(encoders))})")
    if multitask["encoder"] in encoders and not encoders[multitask["encoder"]].get("model"):
        name = multitask["encoder"]
        problems.append(f"multitask.encoder: {name!r} has no model (a tokenizer only) to train")
    if problems:
        raise ConfigError("invalid config: " + "; ".join(problems))
