"""A learner's file as the checker sees it. A file whose first line is ``# template: NAME`` is a
filled-in exercise: the template ``scratch_rnn/check/templates/NAME.py`` (the forward pass as given)
followed by the file's own code (the function the learner wrote, which replaces the template's stub),
so the forward is written once, in the template."""
from pathlib import Path

from scratch_rnn.check.exercises import template_text

HERE = Path(__file__).parent


def source(name: str) -> str:
    """The full source of learner file `name` (tests/learners/NAME.py)."""
    text = (HERE / f"{name}.py").read_text()
    first = text.splitlines()[0] if text else ""
    if first.startswith("# template: "):
        return template_text(first.removeprefix("# template: ").strip()) + "\n\n" + text
    return text
