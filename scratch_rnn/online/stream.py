r"""Online learning as Marschall, Cho & Savin (2020) run it: one leaky RNN on one endless stream, batch 1,
a plain SGD update at every step, every learning algorithm of their comparison.

The network (their ``network.RNN``): with \hat a_{t-1} = [a_{t-1}, x_t, 1] (m = H + D + 1 entries) and the
recurrent weights gathered as W = [W_rec | W_in | b] (H x m),

    h_t = W \hat a_{t-1}                          pre-activation       (H,)
    a_t = (1 - alpha) a_{t-1} + alpha tanh(h_t)   the leaky state      (H,)
    z_t = W_out a_t + b_out                       the readout          (O,)

alpha = 1 is PyTorch's ``nn.RNN`` (tanh). The names are their code's (a the state, h the pre-activation), the
other way round from the rest of this package (h_t the state, a_t the pre-activation). Every step has a loss
L_t(z_t) (softmax cross-entropy on the add task, 0.5 |z_t - y_t|^2 on the mimic task; the tasks are
`scratch_rnn.online.stream_tasks`) and the immediate error e_t = dL_t/dz_t. What every method needs
from the step:

    q_t   = e_t W_out                        dL_t/da_t, the immediate credit (H,)
    D_t   = alpha (1 - tanh(h_t)^2)          da_t/dh_t, diagonal (H,)
    J_t   = (1 - alpha) I + D_t W_rec        da_t/da_{t-1} (H, H)
    M_t^0 = D_t (x) \hat a_{t-1}             the immediate influence: da_t[k]/dW[i, j] = delta_ki D_i \hat a_j

and the exact online gradient of L_t is q_t M_t with the influence M_t = J_t M_{t-1} + M_t^0 (RTRL). The
approximations replace M_t or q_t (their framework's two halves, past- and future-facing):

* ``rtrl``: M_t exactly, (H, H, m) per stream (Williams & Zipser 1989).
* ``uoro``: M_t ~ A (x) B, A (H,), B (H, m) (Tallec & Ollivier 2018), their ``UORO``.
* ``kfrtrl``: M_t ~ A (x) B, A (m,), B (H, H) (Mujika et al. 2018), their ``KF_RTRL``.
* ``rkfrtrl``: "reverse" KF-RTRL, M_t[k, i, j] ~ A_i B_kj, A (H,), B (H, m), their ``Reverse_KF_RTRL``.
* ``rflo``: M_t[k, i, j] ~ delta_ki B_ij with B_t = (1 - alpha) B_{t-1} + M_t^0 (Murray 2019), their ``RFLO``:
  the credit q_t through the readout's own weights (their default); ``rflo_fb`` sends it through a fixed random
  matrix instead, Murray's random feedback.
* ``snap1``: M_t on each unit's own entries, through the diagonal of J_t (Menick et al. 2021): this project's
  addition, not in their comparison. (e-prop, also this project's, is ``rflo`` exactly for this cell: its trace
  follows each unit's own leak, (1 - alpha), which is RFLO's filter.)
* ``kernl``: M_t[k, i, j] ~ A_ki B_ij, B filtered with learned per-unit time constants and A learned from the
  effect of small perturbations on a noisy copy of the network (Roth et al. 2019), their ``KeRNL``.
* ``dni``: the future credit of a_t predicted by a linear synthetic gradient, c_t ~ A [a_t, y_t, 1], trained to
  the bootstrapped target q_{t-1} + c_t J_t, times the immediate influence (Jaderberg et al. 2017), their
  ``DNI``; ``dnib`` replaces J_t in the target by a linear map of a_{t-1} onto a_t learned by regression, puts
  tanh on the target's c_t and sends q_{t-1} through a fixed random matrix (their job script's DNIb: ``DNI``
  with ``use_approx_J``, ``SG_label_activation=tanh`` and ``W_FB``).
* ``tbptt``: truncated BPTT over non-overlapping windows of `truncation` steps, an update at each window's end
  (zero in between), their ``Efficient_BPTT``.
* ``readout``: the recurrent weights frozen, only the readout learns, their ``Only_Output_Weights``.

Every method's readout gradient is exact, e_t (x) [a_t, 1]. The streams are vectorised: N independent networks
(one per seed: their own weights, inputs and random draws) advance together, so that 20 seeds cost about what
one does in Python.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .stream_tasks import STREAM_TASKS, add_lags, add_stream, mimic32_target, mimic_level, mimic_stream, mimic_target
from .tasks import add_levels

#: every method of `run_stream`, in the order of the tables
STREAM_METHODS = ("rtrl", "tbptt", "uoro", "kfrtrl", "rkfrtrl", "rflo", "rflo_fb", "snap1", "kernl", "dni", "dnib",
                  "readout")


# ----------------------------------------------------------------------------------------------------- the network
@dataclass
class Net:
    """N leaky RNNs. W (N, H, m) is [W_rec | W_in | b]; W_out (N, O, H); b_out (N, O); a (N, H) the state."""

    W: np.ndarray
    W_out: np.ndarray
    b_out: np.ndarray
    a: np.ndarray
    alpha: float

    @property
    def H(self) -> int:
        return self.W.shape[1]

    @property
    def W_rec(self) -> np.ndarray:
        return self.W[:, :, :self.H]


def init_net(N: int, H: int, D: int, O: int, alpha: float, rng: np.random.Generator) -> Net:
    """Their initialisation: W_rec orthogonal (QR of a Gaussian), W_in ~ N(0, 1/D), W_out ~ N(0, 1/H), zero
    biases; the state a = tanh(h) with h ~ N(0, 1) (their ``reset_network``)."""
    if not 0 < alpha <= 1:
        raise ValueError(f"alpha: expected a leak in (0, 1], got {alpha!r}")
    q, r = np.linalg.qr(rng.normal(0, 1, (N, H, H)))
    W_rec = q * np.sign(np.diagonal(r, axis1=1, axis2=2))[:, None, :]
    W = np.concatenate([W_rec, rng.normal(0, 1 / np.sqrt(D), (N, H, D)), np.zeros((N, H, 1))], axis=2)
    return Net(W, rng.normal(0, 1 / np.sqrt(H), (N, O, H)), np.zeros((N, O)), np.tanh(rng.normal(0, 1, (N, H))),
               float(alpha))


@dataclass
class Step:
    """What one step of the network gives every method (N streams)."""

    a_hat: np.ndarray     # (N, m)     [a_{t-1}, x_t, 1]
    h: np.ndarray         # (N, H)     pre-activation
    a: np.ndarray         # (N, H)     the new state
    D: np.ndarray         # (N, H)     alpha tanh'(h_t)
    J: np.ndarray         # (N, H, H)  da_t/da_{t-1}
    error: np.ndarray     # (N, O)     dL_t/dz_t
    q: np.ndarray         # (N, H)     e_t W_out
    y: np.ndarray         # (N, O)     the label
    x: np.ndarray         # (N, D)
    z: np.ndarray         # (N, O)     the readout
    loss: np.ndarray      # (N,)


def forward_step(net: Net, x: np.ndarray, y: np.ndarray, loss: str) -> Step:
    """Advance the N networks by one input (net.a is replaced); the step's loss, error and derivatives."""
    N, H = net.a.shape
    a_hat = np.concatenate([net.a, x, np.ones((N, 1))], axis=1)
    h = np.einsum("nhm,nm->nh", net.W, a_hat)
    th = np.tanh(h)
    a = (1 - net.alpha) * net.a + net.alpha * th
    z = np.einsum("noh,nh->no", net.W_out, a) + net.b_out
    if loss == "softmax_cross_entropy":
        s = z - z.max(axis=1, keepdims=True)
        log_p = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
        L, error = -np.sum(y * log_p, axis=1), np.exp(log_p) - y
    else:
        L, error = 0.5 * np.sum((z - y) ** 2, axis=1), z - y
    D = net.alpha * (1 - th * th)
    J = D[:, :, None] * net.W_rec
    J[:, np.arange(H), np.arange(H)] += 1 - net.alpha
    net.a = a
    return Step(a_hat, h, a, D, J, error, np.einsum("no,noh->nh", error, net.W_out), y, x, z, L)


def _norm(v: np.ndarray) -> np.ndarray:
    """The Frobenius norm of each stream's array, (N,) broadcast to v's rank."""
    return np.sqrt(np.sum(v * v, axis=tuple(range(1, v.ndim)))).reshape((-1,) + (1,) * (v.ndim - 1))


# ----------------------------------------------------------------------------------------------------- the methods
class Method:
    """One learning algorithm for N streams: `grad(net, s)` is its recurrent gradient (N, H, m) for the step
    `s` that just ran (`forward_step`); it may update the method's own state (influence estimates, learned
    synthetic gradients). `feedback` (O, H) per stream replaces W_out in q_t where the method says so."""

    def __init__(self, net: Net, rng: np.random.Generator, **kw):
        self.rng = rng
        N, H, m = net.W.shape
        self.N, self.H, self.m = N, H, m

    def grad(self, net: Net, s: Step) -> np.ndarray:
        raise NotImplementedError


def _immediate(s: Step) -> np.ndarray:
    """M_t^0 on each unit's own row: D_i \\hat a_j, (N, H, m)."""
    return s.D[:, :, None] * s.a_hat[:, None, :]


class RTRL(Method):
    def __init__(self, net, rng, **kw):
        super().__init__(net, rng)
        self.M = np.zeros((self.N, self.H, self.H, self.m))           # da[k]/dW[i, j]

    def grad(self, net, s):
        N, H, m = self.N, self.H, self.m
        M = np.matmul(s.J, self.M.reshape(N, H, H * m)).reshape(N, H, H, m)   # J_t M_{t-1}
        M[:, np.arange(H), np.arange(H), :] += _immediate(s)                  # + M_t^0
        self.M = M
        return np.einsum("nk,nkij->nij", s.q, M)                               # q_t M_t


class SnAp1(Method):
    def __init__(self, net, rng, **kw):
        super().__init__(net, rng)
        self.B = np.zeros((self.N, self.H, self.m))                    # da[i]/dW[i, j]

    def grad(self, net, s):
        Jii = np.diagonal(s.J, axis1=1, axis2=2)                       # (1 - alpha) + D_i W_rec[i, i]
        self.B = Jii[:, :, None] * self.B + _immediate(s)
        return s.q[:, :, None] * self.B


class RFLO(Method):
    def __init__(self, net, rng, feedback=None, **kw):
        super().__init__(net, rng)
        self.B = np.zeros((self.N, self.H, self.m))
        self.feedback = feedback                                       # (N, O, H) or None: W_out

    def grad(self, net, s):
        self.B = (1 - net.alpha) * self.B + _immediate(s)              # the unit's own leak only
        q = s.q if self.feedback is None else np.einsum("no,noh->nh", s.error, self.feedback)
        return q[:, :, None] * self.B


def _signs(rng, shape) -> np.ndarray:
    return rng.choice(np.array([-1.0, 1.0]), size=shape)


class UORO(Method):
    def __init__(self, net, rng, **kw):
        super().__init__(net, rng)
        self.A = rng.normal(0, 1, (self.N, self.H))                    # their initial draws, not zeros
        self.B = rng.normal(0, 1, (self.N, self.H, self.m))

    def grad(self, net, s):
        nu = _signs(self.rng, (self.N, self.H))
        A_f = np.einsum("nkl,nl->nk", s.J, self.A)                     # J_t A
        proj = nu[:, :, None] * _immediate(s)                          # nu^T M_t^0, as an (H, m) array
        p0 = np.sqrt(_norm(self.B)[:, :, 0] / _norm(A_f))
        p1 = np.sqrt(_norm(proj)[:, :, 0] / np.sqrt(self.H))
        self.A = p0 * A_f + p1 * nu
        self.B = self.B / p0[:, :, None] + proj / p1[:, :, None]
        return np.einsum("nk,nk->n", s.q, self.A)[:, None, None] * self.B


class KFRTRL(Method):
    def __init__(self, net, rng, **kw):
        super().__init__(net, rng)
        self.A = rng.normal(0, 1, (self.N, self.m))
        self.B = rng.normal(0, 1, (self.N, self.H, self.H))

    def grad(self, net, s):
        nu = _signs(self.rng, (self.N, 2, 1))
        B_f = np.matmul(s.J, self.B)
        p0 = np.sqrt(_norm(B_f)[:, :, 0] / _norm(self.A))
        p1 = np.sqrt(_norm(s.D) / _norm(s.a_hat))                       # |diag(D)| / |a_hat|
        self.A = nu[:, 0] * p0 * self.A + nu[:, 1] * p1 * s.a_hat
        diagD = np.zeros_like(B_f)
        diagD[:, np.arange(self.H), np.arange(self.H)] = s.D
        self.B = (nu[:, 0] / p0)[:, :, None] * B_f + (nu[:, 1] / p1)[:, :, None] * diagD
        qB = np.einsum("nk,nki->ni", s.q, self.B)
        return qB[:, :, None] * self.A[:, None, :]


class ReverseKFRTRL(Method):
    def __init__(self, net, rng, **kw):
        super().__init__(net, rng)
        self.A = rng.normal(0, 1, (self.N, self.H))
        self.B = rng.normal(0, 1, (self.N, self.H, self.m))

    def grad(self, net, s):
        nu = _signs(self.rng, (self.N, self.H))
        B_f = np.matmul(s.J, self.B)
        proj = nu[:, :, None] * _immediate(s)
        p0 = np.sqrt(_norm(B_f)[:, :, 0] / _norm(self.A))
        p1 = np.sqrt(_norm(proj)[:, :, 0] / np.sqrt(self.H))
        self.A = p0 * self.A + p1 * nu
        self.B = B_f / p0[:, :, None] + proj / p1[:, :, None]
        qB = np.einsum("nk,nkj->nj", s.q, self.B)
        return self.A[:, :, None] * qB[:, None, :]


class KeRNL(Method):
    """Their ``KeRNL`` with SGD at `lr` for A and the time constants, perturbations of size `sigma` (their
    default). The regression's gradients scale as sigma^2, so the rate does too: None is 1e-4 / sigma^2 (ours;
    their code takes any optimizer)."""

    def __init__(self, net, rng, lr: float | None = None, sigma: float = 1e-5, **kw):
        super().__init__(net, rng)
        N, H = self.N, self.H
        self.lr, self.sigma = (1e-4 / sigma ** 2 if lr is None else lr), sigma
        self.A = np.broadcast_to(np.eye(H), (N, H, H)).copy()
        self.B = np.zeros((N, H, self.m))
        self.tau = np.full((N, H), 0.8)                                # their learned "alpha_i", 0.8 at first
        self.Omega = np.zeros((N, H))
        self.Gamma = np.zeros((N, H))
        self.a_noisy = net.a.copy()
        self.zeta = rng.normal(0, sigma, (N, H))

    def grad(self, net, s):
        a_prev_noisy = self.a_noisy + self.zeta                        # the noisy copy, perturbed, steps too
        a_hat = np.concatenate([a_prev_noisy, s.x, np.ones((self.N, 1))], axis=1)
        self.a_noisy = (1 - net.alpha) * a_prev_noisy + net.alpha * np.tanh(np.einsum("nhm,nm->nh", net.W, a_hat))
        kernel = np.maximum(0, 1 - self.tau)
        self.zeta = self.rng.normal(0, self.sigma, (self.N, self.H))
        self.Gamma = kernel * self.Gamma - self.Omega
        self.Omega = kernel * self.Omega + self.zeta
        self.B = kernel[:, :, None] * self.B + _immediate(s)
        err = np.einsum("nki,ni->nk", self.A, self.Omega) - (self.a_noisy - s.a)    # predicted - observed effect
        A_grad = err[:, :, None] * self.Omega[:, None, :]
        tau_grad = np.einsum("nk,nki->ni", err, self.A) * self.Gamma
        self.error = float(np.mean(np.sum(err * err, axis=1)))         # the kernel's squared prediction error
        self.A = self.A - self.lr * A_grad
        self.tau = self.tau - self.lr * tau_grad
        return np.einsum("nk,nki->ni", s.q, self.A)[:, :, None] * self.B


class DNI(Method):
    """Their ``DNI``: synthetic gradient c ~ A [a, y, 1] trained by SGD at `lr` to q_{t-1} + c_t J_t, the
    target's copy of A refreshed every `fix_interval` steps; `approx_J` learns J by regression at `J_lr`,
    `label_activation` puts tanh on the target's c_t and `feedback` (N, O, H) sends q_{t-1} through a fixed
    random matrix: their DNIb uses all three."""

    def __init__(self, net, rng, lr: float = 1e-2, fix_interval: int = 5, approx_J: bool = False,
                 J_lr: float = 1e-2, label_activation: bool = False, feedback=None, **kw):
        super().__init__(net, rng)
        self.label_activation, self.feedback = label_activation, feedback
        N, H = self.N, self.H
        O = net.W_out.shape[1]
        m_out = H + O + 1
        self.A = rng.normal(0, np.sqrt(1 / m_out), (N, H, m_out))
        self.A_fixed = self.A.copy()
        self.lr, self.fix_interval, self.approx_J, self.J_lr = lr, fix_interval, approx_J, J_lr
        self.J_approx = net.W_rec.copy()
        self.i = 0
        self.q_prev = np.zeros((N, H))
        self.tilde_prev = np.concatenate([net.a, np.zeros((N, O)), np.ones((N, 1))], axis=1)

    def grad(self, net, s):
        H = self.H
        a_prev = s.a_hat[:, :H]
        if self.approx_J:                                              # J a_{t-1} ~ a_t, by SGD
            J_err = np.einsum("nkl,nl->nk", self.J_approx, a_prev) - s.a
            self.J_approx = self.J_approx - self.J_lr * J_err[:, :, None] * a_prev[:, None, :]
            J = self.J_approx
        else:
            J = s.J
        tilde = np.concatenate([s.a, s.y, np.ones((self.N, 1))], axis=1)
        sg_prev = np.einsum("nkm,nm->nk", self.A, self.tilde_prev)
        sg_next = np.einsum("nkm,nm->nk", self.A_fixed, tilde)
        if self.label_activation:                                      # their DNIb: tanh on the target's part
            sg_next = np.tanh(sg_next)
        target = self.q_prev + np.einsum("nk,nkl->nl", sg_next, J)
        self.error = float(np.mean(np.sum((sg_prev - target) ** 2, axis=1)))      # the synthetic gradient's
        self.A = self.A - self.lr * (sg_prev - target)[:, :, None] * self.tilde_prev[:, None, :]
        self.i += 1
        if self.i % self.fix_interval == 0:
            self.A_fixed = self.A.copy()
        q = s.q if self.feedback is None else np.einsum("no,noh->nh", s.error, self.feedback)
        self.q_prev, self.tilde_prev = q, tilde
        sg = np.einsum("nkm,nm->nk", self.A, tilde)                    # the credit of a_t, with the new A
        return (sg * s.D)[:, :, None] * s.a_hat[:, None, :]


class TBPTT(Method):
    """Their ``Efficient_BPTT``: every `truncation` steps, BPTT through the window just seen."""

    def __init__(self, net, rng, truncation: int = 10, **kw):
        super().__init__(net, rng)
        self.k = truncation
        self.window: list = []

    def grad(self, net, s):
        self.window.append((s.q, s.D, s.a_hat, s.J))
        g = np.zeros((self.N, self.H, self.m))
        if len(self.window) < self.k:
            return g
        c = self.window[-1][0]                                         # the last step's credit: q_t alone
        for t in range(self.k - 1, -1, -1):                            # t = the window's last step, ..., first
            q, D, a_hat, _ = self.window[t]
            if t < self.k - 1:
                c = q + np.einsum("nk,nkl->nl", c, self.window[t + 1][3])    # c_t = q_t + c_{t+1} J_{t+1}
            g += (c * D)[:, :, None] * a_hat[:, None, :]
        self.window = []
        return g


class Readout(Method):
    def grad(self, net, s):
        return np.zeros((self.N, self.H, self.m))


def make_method(name: str, net: Net, rng: np.random.Generator, feedback: np.ndarray | None = None,
                **options) -> Method:
    """A method of `STREAM_METHODS` for the N streams of `net` (`feedback` (N, O, H) for ``rflo_fb`` and
    ``dnib``); `options` go to its class (learning rates of its own, the truncation)."""
    table: dict[str, Callable[..., Method]] = {
        "rtrl": RTRL, "snap1": SnAp1, "rflo": RFLO, "uoro": UORO, "kfrtrl": KFRTRL, "rkfrtrl": ReverseKFRTRL,
        "kernl": KeRNL, "dni": DNI, "tbptt": TBPTT, "readout": Readout}
    if name == "dnib":
        if feedback is None:
            raise ValueError("feedback: dnib needs the random feedback matrix (N, O, H), got None")
        return DNI(net, rng, approx_J=True, label_activation=True, feedback=feedback, **options)
    if name == "rflo_fb":
        if feedback is None:
            raise ValueError("feedback: rflo_fb needs the random feedback matrix (N, O, H), got None")
        return RFLO(net, rng, feedback=feedback)
    if name not in table:
        raise ValueError(f"method: expected one of {STREAM_METHODS}, got {name!r}")
    return table[name](net, rng, **options)


# ----------------------------------------------------------------------------------------------------- a run
@dataclass(frozen=True)
class Setting:
    """Their setting: H units, leak alpha, SGD at lr every step, `steps` steps of one stream per seed, the add
    task's inputs held tau_task steps (its lags `lags`, or set by the difficulty), truncated BPTT over
    `truncation` steps."""

    H: int = 32
    alpha: float = 1.0
    lr: float = 1e-2
    steps: int = 20000
    tau_task: int = 1
    truncation: int = 10
    lags: tuple[int, int] | None = None          # the add task's lags; None: `add_lags(difficulty)`
    deterministic: bool = True                   # the add task's label: p_t itself (theirs), or a draw


def _check_setting(setting: Setting) -> None:
    """Every field of a `Setting` in its range, named with the expected and the actual value."""
    def positive_int(name, v):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"setting.{name}: expected an integer >= 1, got {v!r}")
    for name in ("H", "steps", "tau_task", "truncation"):
        positive_int(name, getattr(setting, name))
    if not 0 < setting.alpha <= 1:
        raise ValueError(f"setting.alpha: expected a leak in (0, 1], got {setting.alpha!r}")
    if not (isinstance(setting.lr, (int, float)) and np.isfinite(setting.lr) and setting.lr >= 0):
        raise ValueError(f"setting.lr: expected a finite learning rate >= 0, got {setting.lr!r}")
    lags = setting.lags
    if lags is not None and not (len(lags) == 2 and all(isinstance(v, (int, np.integer)) for v in lags)
                                 and 0 < lags[0] < lags[1]):
        raise ValueError(f"setting.lags: expected two integers 0 < t1 < t2 (or None), got {lags!r}")


def _task_data(task: str, difficulty: int, setting: Setting, seed: int):
    """One stream's (x, training label, label distribution), its loss name, and its reference levels."""
    rng = np.random.default_rng([seed, 0x57])
    if task == "add":
        lags = add_lags(difficulty) if setting.lags is None else setting.lags
        x, y, p = add_stream(setting.steps, 1, rng, lags, setting.tau_task, setting.deterministic)
        return (x, y, p), "softmax_cross_entropy", add_levels(lags)
    if task in ("mimic", "mimic32"):
        key = (task, difficulty, setting.H, setting.alpha, setting.tau_task)
        target = mimic_target(difficulty, H=setting.H) if task == "mimic" else mimic32_target(setting.alpha)
        if key not in _LEVELS:
            _LEVELS[key] = mimic_level(target, tau_task=setting.tau_task)
        return mimic_stream(setting.steps, 1, rng, target, setting.tau_task), "mse", {"constant": _LEVELS[key]}
    raise ValueError(f"task: expected one of {STREAM_TASKS}, got {task!r}")


#: the mimic targets' constant levels, computed once a process
_LEVELS: dict = {}


def _metric(s: Step, expected: np.ndarray, loss: str) -> np.ndarray:
    """The step's expected loss under the label's distribution (the add task: the cross-entropy with p_t, whose
    mean is the sampled label's; the mimic task: the loss itself)."""
    if loss != "softmax_cross_entropy":
        return s.loss
    zs = s.z - s.z.max(axis=1, keepdims=True)
    return -np.sum(expected * (zs - np.log(np.exp(zs).sum(axis=1, keepdims=True))), axis=1)


def _streams(task: str, difficulty: int, setting: Setting, seeds) -> tuple:
    """The N = len(seeds) streams: each seed's own network and data (the same for every method), stacked."""
    data, nets = [], []
    for seed in seeds:
        d, loss, levels = _task_data(task, difficulty, setting, seed)
        data.append(d)
        D, O = d[0].shape[2], d[1].shape[2]
        nets.append(init_net(1, setting.H, D, O, setting.alpha, np.random.default_rng([seed, 0x1E])))
    x, y, p = (np.concatenate([d[i] for d in data], axis=1) for i in range(3))
    W, W_out, b_out, a = (np.concatenate([getattr(n, f) for n in nets]) for f in ("W", "W_out", "b_out", "a"))
    net = Net(W, W_out, b_out, a, setting.alpha)
    return net, x, y, p, loss, levels


def their_rates(method: str, task: str, alpha: float) -> dict:
    """The learning rates of a method's own parts as their job script sets them: the synthetic gradient's
    0.001 (0.05 on the add task at alpha = 1), DNIb's Jacobian 0.001 (0.01 there), KeRNL's 5 with
    perturbations of 0.001."""
    strong = task == "add" and alpha == 1
    if method == "dni":
        return {"lr": 0.05 if strong else 1e-3}
    if method == "dnib":
        return {"lr": 0.05 if strong else 1e-3, "J_lr": 0.01 if strong else 1e-3}
    if method == "kernl":
        return {"lr": 5.0, "sigma": 1e-3}
    return {}


def _feedback(seeds, O: int, H: int) -> np.ndarray:
    """The fixed random feedback W_FB, one (O, H) per seed, N(0, 1/O) as their job script draws it."""
    return np.stack([np.random.default_rng([s, 0xFB]).normal(0, np.sqrt(1 / O), (O, H)) for s in seeds])


def run_stream(method: str, task: str, difficulty: int, seeds: Sequence[int], setting: Setting = Setting(),
               every: int = 500, monitors: tuple[str, ...] = (), method_seed: int = 0) -> dict:
    """Train one network per seed on its own stream with `method`'s gradient, an SGD step at every step.

    Args:
        method: One of `STREAM_METHODS`: the gradient the networks learn with.
        task: "add", "mimic" (the 2-input target scaled by the difficulty) or "mimic32" (their first mimic
            task: 32 inputs and outputs, the target's leak the network's; the difficulty is ignored).
        difficulty: d = 0..9 (`add_lags`, `mimic_target`).
        seeds: The streams' seeds: each seeds its network, its data and its feedback matrix, the same for
            every method, so that methods are compared on the same networks and streams.
        setting: H, alpha, lr, steps, tau_task, truncation.
        every: The window over which the loss (and the alignments) are averaged.
        monitors: Methods whose gradients are computed alongside on the same trajectory (not applied) for
            their pairwise alignment: the cosine between every two methods' recurrent gradients at each step,
            averaged over each window and each seed. The trained method is always among them when any are.
        method_seed: Seeds the methods' random signs and perturbations.

    Returns:
        {"loss": (N, windows) the mean expected loss of each window, "levels": the task's reference levels,
            "diverged": (N,) whether a stream's loss became non-finite, and with monitors "alignment"
            (windows, M, M) and "monitors" (their names)}.

    Raises:
        ValueError: An unknown method, monitor, task or difficulty, a setting out of range, `every` outside
            1..steps, no seeds.

    Examples:
        >>> from scratch_rnn.online.stream import Setting, run_stream
        >>> res = run_stream("rflo", "add", 5, seeds=[0, 1], setting=Setting(steps=200), every=100)
        >>> res["loss"].shape                                        # two seeds, two windows of 100 steps
        (2, 2)
    """
    if method not in STREAM_METHODS:
        raise ValueError(f"method: expected one of {STREAM_METHODS}, got {method!r}")
    _check_setting(setting)
    for name in monitors:
        if name not in STREAM_METHODS:
            raise ValueError(f"monitors: expected methods among {STREAM_METHODS}, got {name!r}")
    if isinstance(every, bool) or not isinstance(every, int) or not 1 <= every <= setting.steps:
        raise ValueError(f"every: expected an integer in 1..steps = {setting.steps}, got {every!r}")
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds: expected at least one seed, got none")
    net, x, y, p, loss, levels = _streams(task, difficulty, setting, seeds)
    N, O = len(seeds), y.shape[2]
    rng = np.random.default_rng([method_seed, 0xA1])
    fb = _feedback(seeds, O, setting.H)
    names = tuple(dict.fromkeys((method, *monitors))) if monitors else (method,)
    algs = {n: make_method(n, net, rng, feedback=fb, **their_rates(n, task, setting.alpha),
                           **({"truncation": setting.truncation} if n == "tbptt" else {})) for n in names}
    windows = setting.steps // every
    curve = np.zeros((N, windows))
    align = np.zeros((windows, len(names), len(names))) if monitors else None
    diverged = np.zeros(N, dtype=bool)
    with np.errstate(all="ignore"):
        for t in range(windows * every):
            s = forward_step(net, x[t], y[t], loss)
            grads = {n: alg.grad(net, s) for n, alg in algs.items()}
            curve[:, t // every] += _metric(s, p[t], loss) / every
            if align is not None:
                G = np.stack([grads[n].reshape(N, -1) for n in names], axis=1)           # (N, M, P)
                G = G / np.maximum(np.linalg.norm(G, axis=2, keepdims=True), 1e-300)
                align[t // every] += np.mean(G @ G.transpose(0, 2, 1), axis=0) / every   # cosines, mean over seeds
            g = grads[method]
            net.W -= setting.lr * g
            net.W_out -= setting.lr * s.error[:, :, None] * s.a[:, None, :]
            net.b_out -= setting.lr * s.error
            diverged |= ~np.isfinite(s.loss)
    out = {"loss": curve, "levels": levels, "diverged": diverged}
    if align is not None:
        out.update(alignment=align, monitors=names)
    return out
