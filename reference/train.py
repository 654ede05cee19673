"""The same training steps in PyTorch, for the study's ``--engine torch`` and for trajectory
parity with scratch_rnn.

`TorchEngine` wraps the study's `RecurrentClassifier` (batch-first, as the notebook uses its models) with ``torch.optim.Adam`` (or SGD) and ``torch.nn.utils.clip_grad_norm_``, and implements
`scratch_rnn.Engine`, so `scratch_rnn.train` drives it like the scratch engine. Parameters start
from a scratch_rnn flat dict (`scratch_rnn.init_model`), so both engines can start from the same
weights, and its `state` uses the scratch engine's names, so checkpoints cross between engines.
"""
from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from scratch_rnn import parse_state_dict_key
from scratch_rnn.training.engine import StepResult, TrainingDiverged, check_loadable
from scratch_rnn.training.model import architecture, cell_of, layer_params
from scratch_rnn.training.tasks import Task

from .autograd import autograd_grads
from .models import RecurrentClassifier
from .transfer import params_from_torch, params_to_torch


def _scratch_name(model: RecurrentClassifier, torch_name: str) -> str:
    """The scratch_rnn flat-dict name of a parameter of the study's torch model: the head's with a
    ``head_`` prefix, a stack's its state_dict key, one layer's without the layer suffix."""
    module, _, name = torch_name.partition(".")
    if module == "fc":
        return f"head_{name}"
    if model.stacked:
        return name
    parsed = parse_state_dict_key(name)
    assert parsed is not None, name
    return parsed[0]


def _torch_dtype(np_dtype):
    return torch.from_numpy(np.zeros(0, np_dtype)).dtype


def _numpy_dtype(tensor) -> np.dtype:
    return torch.empty(0, dtype=tensor.dtype).numpy().dtype


def check_device(device: str) -> str:
    """Check a torch device name.

    Args:
        device: "cpu" or "cuda".

    Returns:
        The device.

    Raises:
        ValueError: Another name, or "cuda" where torch sees no CUDA device.

    Examples:
        >>> from reference import check_device
        >>> check_device("cpu")
        'cpu'
    """
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device: expected 'cpu' or 'cuda', got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device: 'cuda' was asked for, but torch sees no CUDA device "
                         f"(torch {torch.__version__}, built with CUDA {torch.version.cuda}); use --device cpu")
    return device


def build_model(params: dict, device: str = "cpu", layers: str = "torch") -> RecurrentClassifier:
    """The study's torch model holding a copy of a scratch_rnn flat parameter dict.

    Args:
        params: What `scratch_rnn.init_model` returned (one layer or a stack, and the head).
        device: "cpu" or "cuda".
        layers: "torch" (``torch.nn``'s recurrent layer) or "scratch_rnn" (``scratch_rnn.nn``'s, CPU).

    Returns:
        A `RecurrentClassifier` in the parameters' dtype.

    Examples:
        >>> from reference import build_model
        >>> model = build_model(sr.init_model("lstm", 1, 8, 2, np.random.default_rng(0)))
        >>> type(model).__name__
        'RecurrentClassifier'
    """
    n_layers, bi = architecture(params)
    stacked = n_layers > 1 or bi
    w_ih, w_hh = (params["weight_ih_l0"], params["weight_hh_l0"]) if stacked else (params["weight_ih"], params["weight_hh"])
    model = RecurrentClassifier(cell_of(params), w_ih.shape[1], w_hh.shape[1], params["head_weight"].shape[0],
                                n_layers, bi, layers=layers).to(_torch_dtype(w_hh.dtype))
    if stacked:                                                # a stack: its state_dict, keys unchanged
        model.layer.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v))
                                     for k, v in layer_params(params).items()})
    else:
        params_to_torch(layer_params(params), model.layer)
    with torch.no_grad():
        model.fc.weight.copy_(torch.from_numpy(params["head_weight"]))
        model.fc.bias.copy_(torch.from_numpy(params["head_bias"]))
    return model.to(check_device(device))


def params_of_model(model: RecurrentClassifier) -> dict:
    """A scratch_rnn flat parameter dict from the study's torch model.

    Args:
        model: What `build_model` returned.

    Returns:
        The flat dict of NumPy copies.

    Examples:
        >>> from reference import build_model, params_of_model
        >>> p = sr.init_model("rnn", 1, 4, 2, np.random.default_rng(0))
        >>> back = params_of_model(build_model(p))                                 # the round trip is exact
        >>> all(np.array_equal(back[k], p[k]) for k in p)
        True
    """
    out = ({k: v.detach().cpu().numpy().copy() for k, v in model.layer.state_dict().items()}
           if model.stacked else params_from_torch(model.layer))
    out["head_weight"] = model.fc.weight.detach().cpu().numpy().copy()
    out["head_bias"] = model.fc.bias.detach().cpu().numpy().copy()
    return out


class TorchEngine:
    """The torch engine: one update of the study's torch model is forward, loss, ``backward()``, optional ``clip_grad_norm_`` and ``Adam.step()``.

    Implements ``scratch_rnn.Engine``; inputs arrive time-major (T, B, D) as NumPy arrays and are fed
    batch-first, as in the study's notebook. Its state carries the names of ``scratch_rnn.Adam.state``,
    so a checkpoint moves between the engines.

    Args:
        params: A model's flat parameter dict (``scratch_rnn.init_model``).
        task: The ``scratch_rnn`` task whose loss it trains.
        lr: The learning rate.
        clip: The largest global gradient norm, or None for no clipping.
        optimizer: "adam" or "sgd".
        device: "cpu" or "cuda".
        layers: "torch" (``torch.nn``'s recurrent layer) or "scratch_rnn" (``scratch_rnn.nn``'s: the same
            module, this package's forward pass and BPTT; CPU).

    Raises:
        ValueError: An unknown optimiser or device.
    """

    name = "torch"

    def __init__(self, params: dict, task: Task, lr: float = 1e-3, clip: float | None = None,
                 optimizer: str = "adam", device: str = "cpu", layers: str = "torch"):
        if optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer: expected 'adam' or 'sgd', got {optimizer!r}")
        self.task, self.clip, self.device = task, clip, check_device(device)
        self.layers = layers
        self.model: Any = build_model(params, device, layers)   # its parameters' .grad are set by backward()
        opt = torch.optim.Adam if optimizer == "adam" else torch.optim.SGD
        self.optimizer = opt(self.model.parameters(), lr=lr)
        self._names = [_scratch_name(self.model, n) for n, _ in self.model.named_parameters()]
        self._sgd_steps = 0                                          # torch's SGD keeps no step count

    def _tensor(self, x):
        return torch.from_numpy(np.ascontiguousarray(x)).to(self.device)

    def step(self, x, y, update: int, want_profile: bool = False) -> StepResult:
        profile = self._profile(x, y) if want_profile else None     # before the update, like scratch
        xb = self._tensor(np.swapaxes(x, 0, 1))                      # (B, T, D)
        yt = self._tensor(y)
        self.optimizer.zero_grad()
        out = self.model(xb)
        loss = F.mse_loss(out, yt) if self.task.loss == "mse" else F.cross_entropy(out, yt)
        if not torch.isfinite(loss):
            raise TrainingDiverged(update, "loss")
        loss.backward()
        params = list(self.model.parameters())
        for key, p in zip(self._names, params):
            if not torch.isfinite(p.grad).all():
                raise TrainingDiverged(update, f"gradient of {key}")
        if self.clip:
            norm = float(torch.nn.utils.clip_grad_norm_(params, self.clip))
        else:
            norm = float(torch.sqrt(sum((p.grad.double() ** 2).sum() for p in params)))
        before = [p.detach().clone() for p in params], copy.deepcopy(self.optimizer.state_dict())
        try:
            self.optimizer.step()
            bad = next((f"parameter {key} after the update" for key, p in zip(self._names, params)
                        if not torch.isfinite(p).all()), None)
        except RuntimeError as err:              # torch refuses a step size beyond the dtype's range
            if "overflow" not in str(err):
                raise
            bad = f"the optimiser's step ({err})"
        if bad:                                                      # restore the last good state
            with torch.no_grad():
                for q, old in zip(params, before[0]):
                    q.copy_(old)
            self.optimizer.load_state_dict(before[1])
            raise TrainingDiverged(update, bad)
        self._sgd_steps += 1
        acc = float("nan") if self.task.loss == "mse" else float((out.argmax(1) == yt).double().mean())
        return StepResult(float(loss.detach()), acc, norm, profile)

    def numpy_params(self) -> dict:
        return self.params()

    def profile(self, x, y) -> dict:
        return self._profile(x, y)

    def _profile(self, x, y) -> dict:
        """||dL/dh_t|| and ||dL/dc_t|| by autograd through the unrolled cell-by-cell layer (CPU)."""
        params = self.params()
        if "weight_hh_l0" in params:
            raise ValueError("profile: the torch engine records gradient profiles of one-layer models only; "
                             f"got {architecture(params)[0]} layers, bidirectional={architecture(params)[1]}")
        H = params["weight_hh"].shape[1]
        model = build_model(params, "cpu")
        with torch.no_grad():
            xt = torch.from_numpy(np.swapaxes(x, 0, 1).copy())
            out = model(xt).detach().requires_grad_()
        loss = F.mse_loss(out, torch.from_numpy(y)) if self.task.loss == "mse" else F.cross_entropy(out, torch.from_numpy(y))
        loss.backward()
        dh_last = (out.grad @ model.fc.weight.detach()).numpy()      # dL/dh_{T-1} from the head
        dh = np.zeros((x.shape[0], x.shape[1], H), dtype=x.dtype)
        dh[-1] = dh_last
        g = autograd_grads(cell_of(params), layer_params(params), x, dh=dh)
        prof = {"h": np.sqrt(np.sum(g["h"].astype(np.float64) ** 2, axis=(1, 2)))}
        if "c" in g:
            prof["c"] = np.sqrt(np.sum(g["c"].astype(np.float64) ** 2, axis=(1, 2)))
        return prof

    def predict(self, x):
        with torch.no_grad():
            return self.model(self._tensor(np.swapaxes(x, 0, 1))).cpu().numpy()

    def params(self) -> dict:
        return params_of_model(self.model)

    def state(self) -> tuple[dict, dict]:
        """The parameters and the optimiser state, with the names of ``scratch_rnn.Adam.state`` ("steps", "m.<name>", "v.<name>") or ``scratch_rnn.SGD.state`` ("steps", "buf.<name>").

        Returns:
            ``(parameters, optimiser state)`` as NumPy copies.
        """
        opt: dict = {"steps": 0}
        adam = isinstance(self.optimizer, torch.optim.Adam)
        for key, p in zip(self._names, self.model.parameters()):
            st = self.optimizer.state.get(p, {})
            zeros = np.zeros(tuple(p.shape), dtype=_numpy_dtype(p))
            if adam:
                opt["steps"] = int(st["step"]) if "step" in st else opt["steps"]
                opt[f"m.{key}"] = st["exp_avg"].detach().cpu().numpy().copy() if "exp_avg" in st else zeros
                opt[f"v.{key}"] = st["exp_avg_sq"].detach().cpu().numpy().copy() if "exp_avg_sq" in st else zeros.copy()
            else:
                buf = st.get("momentum_buffer")
                opt[f"buf.{key}"] = buf.detach().cpu().numpy().copy() if buf is not None else zeros
        if not adam:
            opt["steps"] = self._sgd_steps
        return self.params(), opt

    def load_state(self, params: dict, opt_state: dict) -> None:
        """Restore a state of either engine: the parameters, then the optimiser's moments and step.

        Args:
            params: The parameters, with the current ones' keys, shapes and dtypes.
            opt_state: The optimiser state, likewise.

        Raises:
            ValueError: A key is missing or extra, or a shape or dtype differs.
        """
        check_loadable(self, params, opt_state)
        fresh = build_model(params, self.device, self.layers)
        with torch.no_grad():
            for p, q in zip(self.model.parameters(), fresh.parameters()):
                p.copy_(q)
        adam = isinstance(self.optimizer, torch.optim.Adam)
        steps = int(opt_state["steps"])
        for key, p in zip(self._names, self.model.parameters()):
            st = self.optimizer.state[p]
            if adam:
                if steps == 0:
                    st.clear()
                    continue
                st["step"] = torch.tensor(float(steps))
                st["exp_avg"] = self._tensor(np.asarray(opt_state[f"m.{key}"])).clone()
                st["exp_avg_sq"] = self._tensor(np.asarray(opt_state[f"v.{key}"])).clone()
            else:
                st["momentum_buffer"] = self._tensor(np.asarray(opt_state[f"buf.{key}"])).clone() if steps else None
        if not adam:
            self._sgd_steps = steps
