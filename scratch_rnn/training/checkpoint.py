"""Checkpoints: parameters, optimiser state, configuration, the update count, the batch
generator's state and the training history in one ``.npz``, read back with ``allow_pickle=False``.

Layout (format version 2): ``param.<name>`` and ``optim.<name>`` arrays, and the scalars
``format_version``, ``update``, ``config_json``, ``rng_json`` and ``history_json`` (JSON strings
as 0-d unicode arrays; version 1 files, without the history, are read too). A round trip is
bit-exact, so a run resumed from a checkpoint continues with the same numbers as one that never
stopped. A save writes a temporary file in the same folder and renames it over the old one, so a
crash during a save leaves the previous checkpoint intact.
"""
from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .._files import access_error
from .._validate import check_arrays
from .train import History

FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
#: the bit generators whose state a checkpoint may hold (and the only names it will instantiate)
BIT_GENERATORS = {g.__name__: g for g in (np.random.PCG64, np.random.PCG64DXSM, np.random.MT19937,
                                          np.random.Philox, np.random.SFC64)}


def _encode(obj):
    """json.dumps default: NumPy scalars as Python numbers, arrays as tagged lists."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return {"__ndarray__": obj.tolist(), "dtype": str(obj.dtype)}
    raise TypeError(f"config: expected JSON-able values (numbers, strings, lists, dicts, NumPy scalars), "
                    f"got {type(obj).__name__}")


def _decode(d: dict):
    return np.asarray(d["__ndarray__"], dtype=d["dtype"]) if "__ndarray__" in d else d


def save_checkpoint(path: str | os.PathLike, params: dict, optimizer_state: dict, config: dict, update: int,
                    rng: np.random.Generator, history: History | None = None) -> Path:
    """Write a checkpoint atomically (a temporary file, then a rename), read back with `allow_pickle=False`.

    Args:
        path: The file; ``.npz`` is appended if missing.
        params: The parameters (``Engine.state()[0]``).
        optimizer_state: The optimiser state (``Engine.state()[1]``).
        config: What the run was (JSON-able), checked when the checkpoint is resumed.
        update: The number of updates done.
        rng: The generator to resume with, in its current state.
        history: The training history, saved with it when given.

    Returns:
        The path written.

    Raises:
        TypeError: `rng` is not a ``numpy.random.Generator``.
        ValueError: `rng` runs over a bit generator that cannot be restored.

    Examples:
        >>> import tempfile, pathlib
        >>> p = sr.init_model("rnn", 1, 4, 2, np.random.default_rng(0))
        >>> opt = sr.Adam(p)
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "model.npz"
        >>> sr.save_checkpoint(path, p, opt.state(), {"cell": "rnn"}, 0, np.random.default_rng(1)) == path
        True
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng: expected a numpy.random.Generator, got {type(rng).__name__}")
    name = type(rng.bit_generator).__name__
    if name not in BIT_GENERATORS:
        raise ValueError(f"rng: expected a Generator over one of {sorted(BIT_GENERATORS)}, got {name}")
    arrays: dict[str, Any] = {f"param.{k}": np.asarray(v) for k, v in params.items()}
    for k, v in optimizer_state.items():
        arrays[f"optim.{k}"] = np.asarray(v)
    arrays["format_version"] = np.asarray(FORMAT_VERSION)
    arrays["update"] = np.asarray(int(update))
    arrays["config_json"] = np.asarray(json.dumps(config, sort_keys=True, default=_encode))
    arrays["rng_json"] = np.asarray(json.dumps(rng.bit_generator.state, default=_encode))
    arrays["history_json"] = np.asarray(json.dumps(history.to_dict() if history is not None else None))
    path = Path(path)
    path = path if path.suffix == ".npz" else path.with_name(path.name + ".npz")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)                            # a file's usual mode, not mkstemp's private 0600
        os.replace(tmp, path)                                    # atomic on POSIX and Windows
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _read(path: Path) -> dict:
    """Every array of the archive, or a ValueError that names the path and what is wrong."""
    if not path.exists():
        raise ValueError(f"checkpoint {path}: no such file")
    if path.is_dir():
        raise ValueError(f"checkpoint {path}: expected a file, got a directory")
    try:
        with open(path, "rb") as f:
            magic = f.read(4)
    except PermissionError:
        raise access_error(path, "read", "checkpoint ") from None
    if magic != b"PK\x03\x04":                                   # every .npz is a zip archive
        kind = "empty" if not magic else "a single .npy array" if magic.startswith(b"\x93NUM") else \
            "something else (text, or another format)"
        raise ValueError(f"checkpoint {path}: not a checkpoint (the .npz archive that scratch-rnn charlm or "
                         f"save_checkpoint writes); this file is {kind}")
    try:
        z = np.load(path, allow_pickle=False)
        if isinstance(z, np.ndarray):
            raise TypeError("a single .npy array")
        with z:
            return {k: z[k] for k in z.files}
    except TypeError:
        raise ValueError(f"checkpoint {path}: expected an .npz archive, got a single .npy array") from None
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, KeyError) as err:
        raise ValueError(f"checkpoint {path}: not a readable .npz archive ({type(err).__name__}: {err})") from None


def load_checkpoint(path: str | os.PathLike, expected_params: dict | None = None) -> dict:
    """Read a checkpoint that `save_checkpoint` wrote.

    Args:
        path: The ``.npz`` file.
        expected_params: When given, every one of these parameters must be present with its shape
            and dtype.

    Returns:
        {"params", "optimizer", "config", "update", "rng", "history"}: rng a Generator in the saved
            state, history a `History` or None.

    Raises:
        ValueError: The file is missing, not a checkpoint, of an unknown format, or lacks or
            misshapes a parameter (the message names the path and what is wrong).

    Examples:
        >>> import tempfile, pathlib
        >>> p = sr.init_model("rnn", 1, 4, 2, np.random.default_rng(0))
        >>> path = sr.save_checkpoint(pathlib.Path(tempfile.mkdtemp()) / "model.npz", p, sr.Adam(p).state(),
        ...                           {"cell": "rnn"}, 7, np.random.default_rng(1))
        >>> ckpt = sr.load_checkpoint(path, expected_params=p)
        >>> ckpt["update"], bool(np.array_equal(ckpt["params"]["weight_hh"], p["weight_hh"]))
        (7, True)
    """
    path = Path(path)
    z = _read(path)
    for key in ("format_version", "update", "config_json", "rng_json"):
        if key not in z:
            raise ValueError(f"checkpoint {path}: expected key {key!r}, missing (keys: {sorted(z)})")
    version = int(z["format_version"])
    if version not in READABLE_VERSIONS:
        raise ValueError(f"checkpoint {path}: expected format_version in {READABLE_VERSIONS}, got {version}")
    params = {k[6:]: v for k, v in z.items() if k.startswith("param.")}
    optim = {k[6:]: (v if v.ndim else v.item()) for k, v in z.items() if k.startswith("optim.")}
    try:
        config = json.loads(str(z["config_json"]), object_hook=_decode)
        state = json.loads(str(z["rng_json"]), object_hook=_decode)
        hist = json.loads(str(z["history_json"])) if "history_json" in z else None
    except json.JSONDecodeError as err:
        raise ValueError(f"checkpoint {path}: a JSON field is corrupt ({err})") from None
    name = state.get("bit_generator") if isinstance(state, dict) else None
    if name not in BIT_GENERATORS:
        raise ValueError(f"checkpoint {path}: rng_json: expected a bit generator in {sorted(BIT_GENERATORS)}, "
                         f"got {name!r}")
    bitgen = BIT_GENERATORS[name]()
    try:
        bitgen.state = state
    except (TypeError, ValueError, KeyError) as err:
        raise ValueError(f"checkpoint {path}: rng_json: not a valid {name} state ({err})") from None
    if expected_params is not None:
        check_arrays(f"checkpoint {path}: parameter", params, expected_params)
    return {"params": params, "optimizer": optim, "config": config, "update": int(z["update"]),
            "rng": np.random.Generator(bitgen), "history": History.from_dict(hist) if hist is not None else None}
