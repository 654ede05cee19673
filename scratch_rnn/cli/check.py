"""``scratch-rnn check FILE``: a learner's own BPTT against the exact one; ``scratch-rnn exercise``
writes an exercise's template to fill in."""
from __future__ import annotations

from .options import SEED


def add_parsers(sub) -> None:
    """Add this group's subcommands to the subparsers `sub`."""
    p = sub.add_parser("check", help="check your own forward and BPTT: which gradient, step and gate is wrong, and why",
                       description="Runs the functions FILE defines, by name, on generated cases (several shapes, "
                                   "T = B = H = 1 among them; a loss at the last step and at every step; with and "
                                   "without h0) against the exact forward pass and BPTT. It accepts CS231n's "
                                   "assignment signatures (rnn_step_forward/backward, rnn_forward/backward, "
                                   "lstm_step_forward/backward, lstm_forward/backward: batch-first, Wx, Wh, b, "
                                   "LSTM gates i, f, o, g) and this package's contract (rnn_forward(params, x, h0), "
                                   "rnn_backward(cache, dh), and the same for lstm and gru: time-major, PyTorch's "
                                   "names and gate order). For each pair it says whether the forward is right, "
                                   "which outputs of the backward are wrong and by how much, the first step "
                                   "(counting back from T-1) where dL/dh_t leaves the exact one, which gate's "
                                   "blocks are wrong, and the classic mistake whose numbers yours equal. Exits 0 "
                                   "when every pair is correct, 1 otherwise.")
    p.add_argument("file", metavar="FILE", help="your Python file")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="also draw |yours - exact| against t for each wrong pair into DIR/<backward>.png")
    p.add_argument("--dtype", choices=("float64", "float32"), default="float64",
                   help="the cases' dtype (default float64; float32 allows its own rounding)")
    p.add_argument("--seed", type=SEED, default=0, help="seed of the generated cases (default 0)")
    p.set_defaults(func=check_command)

    from ..check.exercises import EXERCISES
    e = sub.add_parser("exercise", help="write an exercise's template (a forward pass given, its BPTT to write)",
                       description="Writes the template of exercise NAME to FILE: the forward pass written out, the "
                                   "backward pass as a TODO with the shapes it must return. Fill it in, then run "
                                   "`scratch-rnn check FILE`. The documentation site has a page per exercise with "
                                   "the equations it needs.")
    e.add_argument("name", metavar="NAME", choices=EXERCISES, help=f"the exercise: one of {', '.join(EXERCISES)}")
    e.add_argument("--out", required=True, metavar="FILE", help="where to write the template")
    e.add_argument("--force", action="store_true", help="overwrite FILE if it exists (your work in it is lost)")
    e.set_defaults(func=exercise_command)


def check_command(args) -> int:
    from pathlib import Path

    import numpy as np

    from .._files import check_writable
    from ..check import check_file, profile_figure, text
    out = check_writable(args.out) if args.out is not None else None
    reports = check_file(args.file, seed=args.seed, dtype=np.dtype(args.dtype))
    print(text(reports, args.file))
    if out is not None:
        for r in reports:
            if not r.correct:
                png = profile_figure(r, Path(out) / f"{r.family.backward}.png")
                if png is not None:
                    print(f"wrote {png}")
    return 0 if reports and all(r.correct for r in reports) else 1


def exercise_command(args) -> int:
    from ..check.exercises import write_template
    path = write_template(args.name, args.out, force=args.force)
    print(f"wrote {path}: fill in the backward pass, then run: scratch-rnn check {path}")
    return 0
