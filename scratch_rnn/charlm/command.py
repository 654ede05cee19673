"""The `charlm` and `sample` commands: train a character-level language model with streaming
TBPTT(k1, k2) (`charlm.tbptt`), checkpointing as it goes, and sample text from a checkpoint.

``OUT/charlm.npz`` is the checkpoint (parameters, Adam's state, the stream position and carried
state, the vocabulary and the configuration); ``OUT/charlm.json`` the training curve, the
validation bits per character at every evaluation, a sample and the wall time. Run the same
command again to continue from the checkpoint. SIGINT (Ctrl-C) and SIGTERM stop the run between two
complete updates and save it there (`scratch_rnn.runs.signals`), so a resumed run is bit for bit the
run that was never stopped; both files are written atomically.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from .._files import check_writable, write_json
from .._numba.threads import one_blas_thread
from .._provenance import provenance
from .._resources import check_memory, layer_bytes
from .._validate import check_arrays
from ..runs.signals import Interrupted, stop_on_signals
from ..training.checkpoint import load_checkpoint, save_checkpoint
from ..training.model import init_model
from ..training.text import Vocabulary, load_text, split
from .tbptt import TBPTT, bits_per_char, sample, streams


def run_charlm(out: Path, text_path=None, cell: str = "lstm", hidden: int = 128, k1: int = 32, k2: int = 64,
               updates: int = 2000, batch: int = 32, lr: float = 3e-3, clip: float = 1.0, seed: int = 0,
               eval_every: int = 500, dtype: str = "float32", progress: bool = True) -> dict:
    out = check_writable(out)
    text = load_text(text_path)
    vocab = Vocabulary.of(text)
    train_ids, val_ids = split(vocab.encode(text))
    check_fits(len(text), len(train_ids), vocab.size, hidden, k1, k2, batch, dtype, text_path)
    config = {"cell": cell, "hidden": hidden, "tbptt": [k1, k2], "batch": batch, "lr": lr, "clip": clip, "seed": seed,
              "dtype": dtype, "vocabulary": vocab.chars, "text": "pydoc_data.topics" if text_path is None else str(text_path),
              "characters": len(text)}
    ck_path, log_path = out / "charlm.npz", out / "charlm.json"
    params = init_model(cell, vocab.size, hidden, vocab.size, np.random.default_rng(seed), dtype=np.dtype(dtype))
    trainer = TBPTT(params, streams(train_ids, batch), k1, k2, lr=lr, clip=clip)
    log: dict = {"losses": [], "evaluations": [], "seconds": 0.0}
    done = 0
    if ck_path.exists():                                         # resume where the last run stopped
        ck = load_checkpoint(ck_path)
        saved = {k: v for k, v in ck["config"].items() if k not in ("position", "start", "state_h", "state_c")}
        if saved != config:
            diff = sorted(k for k in config if saved.get(k) != config[k])
            raise ValueError(f"--out {out}: holds a checkpoint of another configuration (differs in {diff}); "
                             "use another --out")
        check_arrays(f"checkpoint {ck_path}: parameter", ck["params"], params)
        for k, v in ck["params"].items():
            params[k][...] = v
        trainer.optimizer.load_state(ck["optimizer"])
        c = ck["config"]
        trainer.pos, trainer.start = int(c["position"]), int(c["start"])
        trainer.state = (None if c["state_h"] is None else np.asarray(c["state_h"], dtype=dtype),
                         None if c["state_c"] is None else np.asarray(c["state_c"], dtype=dtype))
        done = ck["update"]
        log = json.loads(log_path.read_text()) if log_path.exists() else log

    def save():
        h, c = trainer.state
        state = {"position": trainer.pos, "start": trainer.start, "state_h": h, "state_c": c}
        save_checkpoint(ck_path, params, trainer.optimizer.state(), {**config, **state}, done,
                        np.random.default_rng(seed))
        write_json({**log, "config": config, **provenance()}, log_path, indent=1)

    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=updates, initial=done, desc="charlm")
    t0 = time.perf_counter() - log["seconds"]
    try:
        with one_blas_thread(), stop_on_signals() as stop:
            while done < updates and not stop:                   # a signal stops between complete updates
                log["losses"].append(trainer.step())
                done += 1
                if bar is not None:
                    bar.update()
                if done % eval_every == 0 or done == updates:
                    log["evaluations"].append({"update": done, "val_bpc": bits_per_char(params, val_ids),
                                               "train_loss": float(np.mean(log["losses"][-50:]))})
                    log["seconds"] = time.perf_counter() - t0
                    save()
            if stop.signum is not None:
                log["seconds"] = time.perf_counter() - t0
                save()
                raise Interrupted(stop.signum, f"the checkpoint in {out} holds update {done} of {updates}; run the "
                                  "same command again to continue")
    finally:
        if bar is not None:
            bar.close()
    log["sample"] = sample(params, vocab, 400, 0.8, np.random.default_rng(seed))
    log["seconds"] = time.perf_counter() - t0
    save()
    return {"checkpoint": ck_path, "log": log_path, **log}


def check_fits(n_chars: int, n_train: int, V: int, hidden: int, k1: int, k2: int, batch: int, dtype: str,
               text_path) -> None:
    """Refuse, before training, a text too short for the streams or a model too big for the memory,
    naming the options to change."""
    need = batch * (k2 + 1)
    if n_train < need:
        name = "the default text" if text_path is None else f"--text {text_path}"
        raise ValueError(f"{name}: {n_chars} characters, {n_train} of them for training; --batch {batch} streams of "
                         f"more than K2 = {k2} characters (--tbptt {k1},{k2}) need {need}: use a smaller --batch "
                         f"(at most {max(1, n_train // (k2 + 1))} here) or --tbptt, or a longer text")
    itemsize = np.dtype(dtype).itemsize
    params = (V * 4 * hidden + hidden * 4 * hidden + 8 * hidden + V * hidden + V) * itemsize
    check_memory(f"--hidden {hidden} (a vocabulary of {V} characters)", 4 * params          # parameters, gradients, Adam's two moments
                 + layer_bytes(k2 + 1, batch, hidden, 4, itemsize, V) + 2 * (k2 + 1) * batch * V * itemsize,
                 "use a smaller --hidden, --batch or --tbptt")


def sample_checkpoint(path, chars: int, temperature: float, seed: int = 0, prime: str | None = None) -> str:
    ck = load_checkpoint(path)
    if "vocabulary" not in ck["config"]:
        raise ValueError(f"checkpoint {path}: expected a character model's checkpoint (written by charlm), "
                         "got one without a vocabulary")
    vocab = Vocabulary(ck["config"]["vocabulary"])
    return sample(ck["params"], vocab, chars, temperature, np.random.default_rng(seed), prime=prime)
