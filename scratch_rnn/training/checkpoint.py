"""Checkpoints: parameters, optimiser state, configuration, the update count and the batch
generator's state in one ``.npz``, read back with ``allow_pickle=False``.

Layout (format version 1): ``param.<name>`` and ``optim.<name>`` arrays, and the scalars
``format_version``, ``update``, ``config_json`` and ``rng_json`` (JSON strings as 0-d unicode arrays).
A round trip is bit-exact, so a run resumed from a checkpoint continues with the same numbers as
one that never stopped.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

FORMAT_VERSION = 1


def save_checkpoint(path, params: dict, optimizer_state: dict, config: dict, update: int,
                    rng: np.random.Generator) -> Path:
    """Write the checkpoint to `path` (``.npz`` is appended by NumPy if missing); returns the path."""
    arrays = {f"param.{k}": np.asarray(v) for k, v in params.items()}
    for k, v in optimizer_state.items():
        arrays[f"optim.{k}"] = np.asarray(v)
    arrays["format_version"] = np.asarray(FORMAT_VERSION)
    arrays["update"] = np.asarray(update)
    arrays["config_json"] = np.asarray(json.dumps(config, sort_keys=True))
    arrays["rng_json"] = np.asarray(json.dumps(rng.bit_generator.state))
    path = Path(path)
    np.savez(path, **arrays)
    return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")


def load_checkpoint(path, expected_params: dict | None = None) -> dict:
    """Read a checkpoint: {"params", "optimizer", "config", "update", "rng"} (rng: a Generator in
    the saved state). With `expected_params`, every parameter must be present with its shape and
    dtype. Raises ValueError naming what is wrong."""
    with np.load(Path(path), allow_pickle=False) as z:
        files = set(z.files)
        for key in ("format_version", "update", "config_json", "rng_json"):
            if key not in files:
                raise ValueError(f"checkpoint {path}: expected key {key!r}, missing (keys: {sorted(files)})")
        version = int(z["format_version"])
        if version != FORMAT_VERSION:
            raise ValueError(f"checkpoint {path}: expected format_version {FORMAT_VERSION}, got {version}")
        params = {k[6:]: z[k] for k in files if k.startswith("param.")}
        optim = {k[6:]: (z[k] if z[k].ndim else z[k].item()) for k in files if k.startswith("optim.")}
        out = {"params": params, "optimizer": optim, "config": json.loads(str(z["config_json"])),
               "update": int(z["update"])}
        state = json.loads(str(z["rng_json"]))
    bitgen = getattr(np.random, state["bit_generator"])()
    bitgen.state = state
    out["rng"] = np.random.Generator(bitgen)
    if expected_params is not None:
        for k, v in expected_params.items():
            if k not in params:
                raise ValueError(f"checkpoint {path}: expected parameter {k!r}, missing")
            if params[k].shape != v.shape or params[k].dtype != v.dtype:
                raise ValueError(f"checkpoint {path}: parameter {k!r}: expected shape {v.shape} and dtype "
                                 f"{v.dtype}, got {params[k].shape} and {params[k].dtype}")
        extra = sorted(set(params) - set(expected_params))
        if extra:
            raise ValueError(f"checkpoint {path}: unexpected parameters {extra}")
    return out
