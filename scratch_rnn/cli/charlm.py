"""``scratch-rnn charlm`` and ``sample``: a character model trained with streaming TBPTT(k1, k2), and text drawn from it."""
from __future__ import annotations

from pathlib import Path

from .options import POS_FLOAT, POS_INT, SEED, tbptt_option


def add_parsers(sub) -> None:
    """Add this group's subcommands to the subparsers `sub`."""
    p = sub.add_parser("charlm", help="a character-level language model trained with streaming TBPTT(k1, k2)",
                       description="Train a one-layer character model on --text (default: the pydoc topics that ship "
                                   "with CPython, ~465k characters; 90% to train, 10% to validate) with TBPTT(k1, k2): "
                                   "every k1 characters, backpropagate through the last k2, the state carried across "
                                   "batches. Writes DIR/charlm.npz (a checkpoint; run again to continue) and "
                                   "DIR/charlm.json (losses, validation bits per character, a sample).")
    p.add_argument("--out", default="results/charlm", metavar="DIR", help="output folder (default: results/charlm)")
    p.add_argument("--text", default=None, metavar="FILE", help="a UTF-8 text file (default: pydoc_data.topics) of "
                   "at least 1000 characters, and enough for --batch streams of more than K2 characters each in its "
                   "90%% training part: about 2,400 characters with the default --batch and --tbptt")
    p.add_argument("--cell", choices=("rnn", "lstm", "gru"), default="lstm")
    p.add_argument("--hidden", type=POS_INT, default=128)
    p.add_argument("--tbptt", type=tbptt_option, default=(32, 64), metavar="K1,K2",
                   help="update every K1 characters through the last K2 (K2 >= K1; default 32,64)")
    p.add_argument("--updates", type=POS_INT, default=2000)
    p.add_argument("--batch", type=POS_INT, default=32, help="parallel streams (default 32)")
    p.add_argument("--lr", type=POS_FLOAT, default=3e-3, help="Adam's learning rate (default 3e-3)")
    p.add_argument("--clip", type=POS_FLOAT, default=1.0, help="gradient-norm clipping (default 1)")
    p.add_argument("--seed", type=SEED, default=0)
    p.add_argument("--eval-every", type=POS_INT, default=500, help="updates between validations and checkpoints")
    p.set_defaults(func=charlm_command)

    p = sub.add_parser("sample", help="sample text from a charlm checkpoint",
                       description="Draw characters one at a time from a character model's checkpoint.")
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="a .npz written by scratch-rnn charlm")
    p.add_argument("--chars", type=POS_INT, default=500, help="characters to draw (default 500)")
    p.add_argument("--temperature", type=POS_FLOAT, default=0.8, help="softmax temperature (default 0.8)")
    p.add_argument("--seed", type=SEED, default=0)
    p.add_argument("--prime", default=None, help="text read before sampling (default: a newline)")
    p.set_defaults(func=sample_command)


def charlm_command(args) -> int:
    from ..charlm.command import run_charlm
    k1, k2 = args.tbptt
    res = run_charlm(Path(args.out), args.text, args.cell, args.hidden, k1, k2, args.updates, args.batch, args.lr,
                     args.clip, args.seed, args.eval_every)              # an Interrupted exits 130 / 143 (cli.main)
    last = res["evaluations"][-1]
    print(f"update {last['update']}: validation {last['val_bpc']:.3f} bits per character, "
          f"{res['seconds'] / 60:.1f} min in all")
    print("sample (temperature 0.8):\n" + res["sample"])
    print(f"wrote {res['checkpoint']} and {res['log']}")
    return 0


def sample_command(args) -> int:
    from ..charlm.command import sample_checkpoint
    print(sample_checkpoint(args.checkpoint, args.chars, args.temperature, args.seed, args.prime))
    return 0
