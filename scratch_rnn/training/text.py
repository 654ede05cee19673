"""A text as character ids: the default corpus (the pydoc topics that ship with CPython), a file
read as UTF-8, its vocabulary, and the train/validation split that every text experiment uses
(the character model, `scratch_rnn.charlm`, and the truncation study's text task)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


def default_text() -> str:
    """The text that ships with every CPython: the help topics of ``pydoc_data.topics`` (about
    465k characters), in the order of their names."""
    from pydoc_data.topics import topics
    return "".join(topics[k] for k in sorted(topics))


def load_text(path: str | Path | None = None, min_chars: int = 1000) -> str:
    """The text of a UTF-8 file, or `default_text()` when path is None."""
    if path is None:
        return default_text()
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"--text {p}: expected a readable UTF-8 text file, got {err}") from None
    if len(text) < min_chars:
        raise ValueError(f"--text {p}: expected at least {min_chars} characters, got {len(text)}")
    return text


@dataclass(frozen=True)
class Vocabulary:
    chars: str                                                   # every character, sorted; id = position

    @classmethod
    def of(cls, text: str) -> Vocabulary:
        return cls("".join(sorted(set(text))))

    @property
    def size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        index = {ch: i for i, ch in enumerate(self.chars)}
        unknown = sorted(set(text) - set(index))
        if unknown:
            raise ValueError(f"text: expected characters of the vocabulary, got {len(unknown)} others: {unknown[:10]}")
        return np.fromiter((index[ch] for ch in text), dtype=np.int64, count=len(text))

    def decode(self, ids) -> str:
        return "".join(self.chars[i] for i in np.asarray(ids).ravel())


def split(ids: np.ndarray, train_fraction: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
    """The first `train_fraction` of the text to train on, the rest to validate on."""
    if not 0 < train_fraction < 1:
        raise ValueError(f"train_fraction: expected a number in (0, 1), got {train_fraction!r}")
    n = int(len(ids) * train_fraction)
    return ids[:n], ids[n:]
