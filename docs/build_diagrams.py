"""Draw the pictures of the unrolled computation: the RNN over four steps, the LSTM's cell path and
the GRU's reset path, each with its forward arrows (black) and the backward recurrence (red, dashed)
that makes every per-step total. Drawn with matplotlib, from this file alone:

    python docs/build_diagrams.py      # writes docs/figures/unrolled_{rnn,lstm,gru}.png

The notation is the math page's: h_t, c_t the states, a_t the pre-activations, dh_t the gradient the
loss sends into h_t directly, and a bar for a total gradient (h-bar_t = dL/dh_t through every path).
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

FIGURES = Path(__file__).resolve().parent / "figures"
FORWARD, BACKWARD, DIRECT = "#222222", "#c0392b", "#2471a3"


def node(ax, xy, text, color="#eef2f7", edge="#34495e", w=0.9, h=0.55, size=13):
    x, y = xy
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.04", fc=color, ec=edge, lw=1.2))
    ax.text(x, y, text, ha="center", va="center", fontsize=size)


def arrow(ax, a, b, color=FORWARD, dashed=False, label=None, offset=(0, 0.18), rad=0.0, size=11, shrink=22):
    ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=14, color=color, lw=1.5,
                                 linestyle=(0, (4, 3)) if dashed else "-", shrinkA=shrink, shrinkB=shrink,
                                 connectionstyle=f"arc3,rad={rad}"))
    if label:
        ax.text((a[0] + b[0]) / 2 + offset[0], (a[1] + b[1]) / 2 + offset[1], label, color=color, fontsize=size,
                ha="center", va="center")


def legend(ax, x, y):
    ax.plot([x, x + 0.5], [y, y], color=FORWARD, lw=1.5)
    ax.text(x + 0.6, y, "forward", va="center", fontsize=11)
    ax.plot([x + 1.8, x + 2.3], [y, y], color=BACKWARD, lw=1.5, ls=(0, (4, 3)))
    ax.text(x + 2.4, y, "backward: the gradient each step passes back", va="center", fontsize=11, color=BACKWARD)
    ax.plot([x + 7.4, x + 7.9], [y, y], color=DIRECT, lw=1.5, ls=(0, (4, 3)))
    ax.text(x + 8.0, y, "from the loss directly", va="center", fontsize=11, color=DIRECT)


def finish(fig, ax, path: Path, where, caption: str, legend_y: float) -> Path:
    """The caption (the recurrence in one line) and the legend, then the file."""
    ax.text(*where, caption, ha="center", fontsize=12)
    legend(ax, 0.3, legend_y)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def canvas(width, height):
    fig, ax = plt.subplots(figsize=(width, height))
    ax.set_xlim(0, width * 1.0)
    ax.set_ylim(0, height * 1.0)
    ax.axis("off")
    return fig, ax


def unrolled_rnn(path: Path) -> Path:
    """h_t = tanh(a_t), a_t = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh, over the steps 0 to 3."""
    fig, ax = canvas(13, 5.2)
    xs = [2.2, 5.0, 7.8, 10.6]
    node(ax, (0.6, 2.4), r"$h_{-1}$")
    for k, x in enumerate(xs):
        t = str(k)
        node(ax, (x, 0.6), rf"$x_{{{t}}}$", color="#fdf2e9")
        node(ax, (x, 2.4), rf"$h_{{{t}}}$", color="#eaf2f8", w=1.1)
        node(ax, (x, 4.3), rf"$\ell_{{{t}}}$", color="#fef9e7")
        arrow(ax, (x, 0.6), (x, 2.4), label=r"$W_{ih}$", offset=(-0.45, 0))
        arrow(ax, (x, 2.4), (x, 4.3))
        arrow(ax, (x + 0.25, 4.3), (x + 0.25, 2.4), color=DIRECT, dashed=True, label=rf"$\mathtt{{dh}}_{{{t}}}$",
              offset=(0.55, 0.1))
        prev = (0.6, 2.4) if k == 0 else (xs[k - 1], 2.4)
        arrow(ax, (prev[0], prev[1] + 0.12), (x, 2.52), label=r"$W_{hh}$", offset=(0, 0.28), shrink=26)
        arrow(ax, (x, 2.28), (prev[0], prev[1] - 0.12), color=BACKWARD, dashed=True,
              label=r"$\bar a_{" + t + r"} W_{hh}$", offset=(0, -0.32), shrink=26)
    return finish(fig, ax, path, (6.4, 0.0), r"$\bar h_t = \mathtt{dh}_t + \bar a_{t+1} W_{hh}$,   "
                  r"$\bar a_t = \bar h_t \odot (1 - h_t^2)$: each total is what the loss sends to $h_t$ plus what "
                  r"step $t+1$ sends back", 5.0)


def lstm_cell_path(path: Path) -> Path:
    """The LSTM's two states over three steps: the cell path c_{t-1} -> c_t through f_t alone."""
    fig, ax = canvas(13, 5.6)
    xs = [2.6, 6.4, 10.2]
    node(ax, (0.6, 3.8), r"$c_{-1}$")
    node(ax, (0.6, 1.8), r"$h_{-1}$")
    for k, x in enumerate(xs):
        t = str(k)
        node(ax, (x, 3.8), rf"$c_{{{t}}}$", color="#e8f8f5", w=1.1)
        node(ax, (x, 1.8), rf"$h_{{{t}}}$", color="#eaf2f8", w=1.1)
        node(ax, (x - 1.5, 0.5), rf"$i, f, g, o$ of $x_{{{t}}}, h_{{{k - 1}}}$", color="#f4ecf7", w=2.4, size=12)
        arrow(ax, (x - 1.2, 0.5), (x, 3.8), label=r"$i \odot g$", offset=(0.05, 1.1), shrink=18)
        arrow(ax, (x, 3.8), (x, 1.8), label=r"$o \odot \tanh$", offset=(-0.75, 0))
        pc, ph = ((0.6, 3.8), (0.6, 1.8)) if k == 0 else ((xs[k - 1], 3.8), (xs[k - 1], 1.8))
        arrow(ax, (pc[0], pc[1] + 0.12), (x, 3.92), label=rf"$\odot f_{{{t}}}$", offset=(0, 0.3), shrink=26)
        arrow(ax, (x, 3.68), (pc[0], pc[1] - 0.12), color=BACKWARD, dashed=True,
              label=rf"$\bar c_{{{t}}} \odot f_{{{t}}}$", offset=(0, -0.3), shrink=26)
        arrow(ax, ph, (x - 1.5, 0.5), label=r"$W_{hh}$", offset=(-0.3, -0.15), shrink=18)
        arrow(ax, (x + 0.3, 2.9), (x + 0.3, 1.9), color=DIRECT, dashed=True, shrink=0)
        ax.text(x + 0.55, 2.45, rf"$\mathtt{{dh}}_{{{t}}}$", color=DIRECT, fontsize=11)
    return finish(fig, ax, path, (6.4, 5.0), r"$\bar c_t = \bar c_{t+1} \odot f_{t+1} + \bar h_t \odot o_t \odot "
                  r"(1 - \tanh^2 c_t)$: along the cell path alone, $dL/dc_s = dL/dc_t \, \prod_{k=s+1}^{t} f_k$", 5.5)


def gru_reset_path(path: Path) -> Path:
    """One GRU step: where the reset gate multiplies (after W_hn, bias included: PyTorch's GRU)."""
    fig, ax = canvas(13, 6.6)
    node(ax, (1.0, 3.0), r"$h_{t-1}$", color="#eaf2f8", w=1.2)
    node(ax, (1.0, 0.6), r"$x_t$", color="#fdf2e9")
    node(ax, (4.4, 4.6), r"$g^h = h_{t-1} W_{hh}^\top + b_{hh}$", w=3.3, size=12)
    node(ax, (4.4, 0.6), r"$g^x = x_t W_{ih}^\top + b_{ih}$", w=3.0, size=12)
    node(ax, (8.6, 4.6), r"$r_t, z_t = \sigma(g^x + g^h)$", w=2.9, size=12, color="#f4ecf7")
    node(ax, (8.6, 1.6), r"$n_t = \tanh(g^{x[n]} + r_t \odot g^{h[n]})$", w=3.9, size=12, color="#f4ecf7")
    node(ax, (12.2, 3.0), r"$h_t$", color="#eaf2f8", w=1.0)
    arrow(ax, (1.0, 3.0), (4.4, 4.6), shrink=30)
    arrow(ax, (1.5, 0.6), (2.85, 0.6), shrink=2)
    arrow(ax, (4.4, 4.7), (8.6, 4.7), shrink=75)
    arrow(ax, (4.4, 0.6), (8.6, 4.6), shrink=45, rad=-0.25)
    arrow(ax, (4.4, 4.6), (8.6, 1.6), label=r"$g^{h[n]}$, times $r_t$ here", offset=(-1.3, -0.7), shrink=30)
    arrow(ax, (4.4, 0.6), (8.6, 1.6), shrink=40)
    arrow(ax, (8.6, 4.6), (8.6, 1.6), label=r"$r_t$", offset=(0.25, 0.3), shrink=16)
    arrow(ax, (8.6, 4.6), (12.2, 3.0), label=r"$z_t$", offset=(0.2, 0.25), shrink=30)
    arrow(ax, (8.6, 1.6), (12.2, 3.0), label=r"$(1 - z_t) \odot n_t$", offset=(0.6, -0.45), shrink=40)
    arrow(ax, (1.0, 3.15), (12.2, 3.15), label=r"$z_t \odot h_{t-1}$", offset=(0.2, 0.22), shrink=30)
    arrow(ax, (12.2, 2.95), (1.0, 2.95), color=BACKWARD, dashed=True, label=r"$\bar h_t \odot z_t$",
          offset=(-3.8, -0.22), shrink=30)
    arrow(ax, (8.6, 4.45), (4.4, 4.45), color=BACKWARD, dashed=True,
          label=r"$\bar g^h = [\bar a^{[r]}, \bar a^{[z]}, \bar a^{[n]} \odot r_t]$", offset=(0, -0.3), shrink=75)
    return finish(fig, ax, path, (6.5, 5.7), r"$\bar h_{t-1} = \bar h_t \odot z_t + \bar g^h_t W_{hh} + "
                  r"\mathtt{dh}_{t-1}$: the two biases get different gradients, since $r_t$ multiplies $b_{hn}$ "
                  r"too", 6.3)


def main() -> None:
    FIGURES.mkdir(exist_ok=True)
    for draw, name in ((unrolled_rnn, "unrolled_rnn"), (lstm_cell_path, "unrolled_lstm"),
                       (gru_reset_path, "unrolled_gru")):
        print("wrote", draw(FIGURES / f"{name}.png"))


if __name__ == "__main__":
    main()
