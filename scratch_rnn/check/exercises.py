"""The exercises: a template per exercise (`templates`), written out for a learner to fill in.

An exercise is a template module ``templates/<name>.py``: its forward pass is written out and the
function to write raises ``NotImplementedError`` until the learner writes it. `EXERCISES` lists them by
name; `write_template` copies one to the learner's file, never over an existing one unless told.
"""
from __future__ import annotations

from pathlib import Path

TEMPLATES = Path(__file__).parent / "templates"

EXERCISES = tuple(sorted(p.stem for p in TEMPLATES.glob("*.py") if p.stem != "__init__"))
"""The exercises' names, from the template files."""


def template_text(name: str) -> str:
    """The source of exercise `name`'s template; ValueError naming the exercises for another name."""
    if name not in EXERCISES:
        raise ValueError(f"NAME: expected one of {EXERCISES}, got {name!r}")
    return (TEMPLATES / f"{name}.py").read_text()


def write_template(name: str, out, force: bool = False) -> Path:
    """Write exercise `name`'s template to `out` and return the path.

    Args:
        name: One of `EXERCISES`.
        out: The file to write.
        force: Overwrite `out` if it exists.

    Returns:
        The path written.

    Raises:
        ValueError: An unknown exercise, an existing file without `force`, or a file that cannot be written.
    """
    text = template_text(name)
    out = Path(out)
    if out.exists() and not force:
        raise ValueError(f"--out: {out} exists; pass --force to overwrite it (your work in it would be lost)")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
    except OSError as err:
        raise ValueError(f"--out: {out} cannot be written ({err.strerror})") from None
    return out
