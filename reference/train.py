"""The same training steps in PyTorch, for the study's ``--backend torch`` and for trajectory
parity with scratch_rnn.

`TorchEngine` wraps the study's `VanillaRNN` / `LSTMModel` (batch-first, as the notebook uses
them) with ``torch.optim.Adam`` and ``torch.nn.utils.clip_grad_norm_``, and has the interface of
`scratch_rnn.train.ScratchEngine`, so `scratch_rnn.train.train` drives either. Parameters start
from a scratch_rnn flat dict (`scratch_rnn.model.init_model`), so both backends can start from
the same weights.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from scratch_rnn.model import cell_of, layer_params
from scratch_rnn.train import StepResult, TrainingDiverged

from .autograd import autograd_grads
from .models import LSTMModel, VanillaRNN
from .transfer import params_from_torch, params_to_torch


# torch parameter name -> scratch_rnn name, for error messages
_SCRATCH_NAMES = {"rnn.weight_ih_l0": "weight_ih", "rnn.weight_hh_l0": "weight_hh", "rnn.bias_ih_l0": "bias_ih",
                  "rnn.bias_hh_l0": "bias_hh", "fc.weight": "head_weight", "fc.bias": "head_bias"}


def _torch_dtype(np_dtype):
    return torch.from_numpy(np.zeros(0, np_dtype)).dtype


def check_device(device: str) -> str:
    """'cpu' or 'cuda' (a GPU must be present); anything else is a ValueError."""
    if device not in ("cpu", "cuda"):
        raise ValueError(f"device: expected 'cpu' or 'cuda', got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device: 'cuda' was asked for, but torch sees no CUDA device "
                         f"(torch {torch.__version__}, built with CUDA {torch.version.cuda}); use --device cpu")
    return device


def build_model(params: dict, device: str = "cpu"):
    """The study's torch model holding a copy of a scratch_rnn flat parameter dict."""
    cell = cell_of(params)
    D = params["weight_ih"].shape[1]
    H = params["weight_hh"].shape[1]
    C = params["head_weight"].shape[0]
    model = (VanillaRNN if cell == "rnn" else LSTMModel)(input_size=D, hidden_size=H, output_size=C)
    model = model.to(_torch_dtype(params["weight_hh"].dtype))
    params_to_torch(layer_params(params), model.rnn if cell == "rnn" else model.lstm)
    with torch.no_grad():
        model.fc.weight.copy_(torch.from_numpy(params["head_weight"]))
        model.fc.bias.copy_(torch.from_numpy(params["head_bias"]))
    return model.to(check_device(device))


def params_of_model(model) -> dict:
    """A scratch_rnn flat parameter dict (NumPy copies) from the study's torch model."""
    layer = model.rnn if isinstance(model, VanillaRNN) else model.lstm
    out = params_from_torch(layer)
    out["head_weight"] = model.fc.weight.detach().cpu().numpy().copy()
    out["head_bias"] = model.fc.bias.detach().cpu().numpy().copy()
    return out


class TorchEngine:
    """One update of the study's torch model: forward, loss, ``backward()``, optional
    ``clip_grad_norm_``, ``Adam.step()``. Inputs arrive time-major (T, B, D) as NumPy arrays and
    are fed batch-first, as in the notebook."""

    name = "torch"

    def __init__(self, params: dict, task, lr: float = 1e-3, clip: float | None = None,
                 optimizer: str = "adam", device: str = "cpu"):
        if optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer: expected 'adam' or 'sgd', got {optimizer!r}")
        self.task, self.clip, self.device = task, clip, check_device(device)
        self.model = build_model(params, device)
        opt = torch.optim.Adam if optimizer == "adam" else torch.optim.SGD
        self.optimizer = opt(self.model.parameters(), lr=lr)

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
        for name, p in self.model.named_parameters():
            if not torch.isfinite(p.grad).all():
                key = _SCRATCH_NAMES.get(name.replace("lstm.", "rnn."), name)
                raise TrainingDiverged(update, f"gradient of {key}")
        params = list(self.model.parameters())
        if self.clip:
            norm = float(torch.nn.utils.clip_grad_norm_(params, self.clip))
        else:
            norm = float(torch.sqrt(sum((p.grad.double() ** 2).sum() for p in params)))
        self.optimizer.step()
        acc = float("nan") if self.task.loss == "mse" else float((out.argmax(1) == yt).double().mean())
        return StepResult(float(loss.detach()), acc, norm, profile)

    def numpy_params(self) -> dict:
        return self.params()

    def profile(self, x, y) -> dict:
        return self._profile(x, y)

    def _profile(self, x, y) -> dict:
        """||dL/dh_t|| and ||dL/dc_t|| by autograd through the unrolled cell-by-cell layer (CPU)."""
        params = self.params()
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
