"""scratch_rnn.nn: drop-in torch.nn.RNN / LSTM / GRU whose backward is the hand-written BPTT. Outputs
and every gradient equal torch.nn's on the same weights (float64 to 1e-12, float32 to its
tolerance) for every cell, 1-3 layers, both directions, batch_first, proj_size, packed lengths, with
and without hx; torch's gradcheck; training, eval, no_grad, inference_mode, save/load; clear refusals."""
import io
import itertools

import numpy as np
import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence

from scratch_rnn import nn as snn

PAIRS = {"rnn": (snn.RNN, torch.nn.RNN), "lstm": (snn.LSTM, torch.nn.LSTM), "gru": (snn.GRU, torch.nn.GRU)}
CONFIGS = [  # cell, layers, bidirectional, batch_first, proj_size, packed, with_hx, nonlinearity
    ("rnn", 1, False, False, 0, False, False, "tanh"), ("rnn", 2, True, True, 0, True, True, "relu"),
    ("rnn", 3, False, False, 0, False, True, "tanh"), ("lstm", 1, False, True, 0, False, True, "tanh"),
    ("lstm", 2, True, False, 0, True, False, "tanh"), ("lstm", 3, True, True, 2, False, True, "tanh"),
    ("lstm", 2, False, False, 3, True, True, "tanh"), ("gru", 1, True, False, 0, False, True, "tanh"),
    ("gru", 2, False, True, 0, True, True, "tanh"), ("gru", 3, True, False, 0, False, False, "tanh"),
]


def _pair(cell, layers, bi, bf, proj, nl, dtype, **kw):
    ours_cls, torch_cls = PAIRS[cell]
    opts = dict(num_layers=layers, bidirectional=bi, batch_first=bf, **kw)
    if cell == "lstm" and proj:
        opts["proj_size"] = proj
    if cell == "rnn":
        opts["nonlinearity"] = nl
    torch.manual_seed(0)
    ours = ours_cls(3, 5, **opts).to(dtype)
    ref = torch_cls(3, 5, **opts).to(dtype)
    ref.load_state_dict(ours.state_dict())
    return ours, ref


def _run(module, x, hx, lengths, bf):
    inp = x if lengths is None else pack_padded_sequence(x, lengths, batch_first=bf, enforce_sorted=False)
    out, state = module(inp, hx)
    if lengths is not None:
        out = out.data
    h = state[0] if isinstance(state, tuple) else state
    c = state[1] if isinstance(state, tuple) else None
    return out, h, c


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-12), (torch.float32, 2e-5)])
@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: "-".join(map(str, c)))
def test_outputs_and_every_gradient_equal_torch_nn(cfg, dtype, tol):
    cell, layers, bi, bf, proj, packed, with_hx, nl = cfg
    ours, ref = _pair(cell, layers, bi, bf, proj, nl, dtype)
    T, B = 6, 4
    g = torch.Generator().manual_seed(1)
    x = torch.randn((B, T, 3) if bf else (T, B, 3), generator=g, dtype=dtype)
    lengths = torch.tensor([6, 3, 5, 1]) if packed else None
    nd, P = 2 if bi else 1, proj or 5
    hx = None
    if with_hx:
        h0 = torch.randn(layers * nd, B, P, generator=g, dtype=dtype)
        hx = (h0, torch.randn(layers * nd, B, 5, generator=g, dtype=dtype)) if cell == "lstm" else h0
    results = []
    for module in (ours, ref):
        xi = x.clone().requires_grad_()
        hxi = None if hx is None else tuple(t.clone().requires_grad_() for t in hx) if isinstance(hx, tuple) \
            else hx.clone().requires_grad_()
        out, h, c = _run(module, xi, hxi, lengths, bf)
        w = torch.linspace(-1, 1, out.numel(), dtype=dtype).reshape(out.shape)
        loss = (out * w).sum() + (h * h).sum() + (0 if c is None else c.sum())
        loss.backward()
        hx_grads = [] if hxi is None else [t.grad for t in (hxi if isinstance(hxi, tuple) else (hxi,))]
        results.append([out, h] + ([c] if c is not None else []) + [xi.grad] + hx_grads +
                       [p.grad for p in module.parameters()])
    for a, b in zip(*results):
        scale = max(b.abs().max().item(), 1.0)
        assert (a - b).abs().max().item() <= tol * scale


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_torch_gradcheck_passes_in_float64(cell):
    ours, _ = _pair(cell, 2, True, False, 0, "tanh", torch.float64)
    x = torch.randn(4, 2, 3, dtype=torch.float64, requires_grad=True)

    names = [n for n, _ in ours.named_parameters()]

    def f(x, *params):
        out, h_n = torch.func.functional_call(ours, dict(zip(names, params)), (x,))
        return out, h_n[0] if isinstance(h_n, tuple) else h_n
    assert torch.autograd.gradcheck(f, (x, *[p.detach().clone().requires_grad_() for p in ours.parameters()]))


def test_a_model_with_embedding_and_linear_trains_and_saves(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Sequential()
    emb, rnn, head = torch.nn.Embedding(10, 4), snn.LSTM(4, 8, num_layers=2, batch_first=True, dropout=0.1), \
        torch.nn.Linear(8, 10)
    opt = torch.optim.Adam([*emb.parameters(), *rnn.parameters(), *head.parameters()], lr=1e-2)
    ids = torch.randint(0, 10, (16, 12))
    losses = []
    for _ in range(30):
        out, _ = rnn(emb(ids[:, :-1]))
        loss = torch.nn.functional.cross_entropy(head(out).reshape(-1, 10), ids[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    buf = io.BytesIO()
    torch.save(rnn.state_dict(), buf)
    twin = torch.nn.LSTM(4, 8, num_layers=2, batch_first=True)
    twin.load_state_dict(torch.load(io.BytesIO(buf.getvalue())))
    rnn.eval()
    twin.eval()
    x = emb(ids).detach()
    with torch.no_grad():
        a, _ = rnn(x)
        b, _ = twin(x)
    assert torch.allclose(a, b, atol=1e-5)
    with torch.inference_mode():
        c, _ = rnn(x)
    assert torch.equal(a, c)


def test_dropout_between_layers_acts_in_training_only():
    torch.manual_seed(0)
    m = snn.GRU(3, 6, num_layers=2, dropout=0.5)
    x = torch.randn(5, 4, 3)
    a, b = m(x)[0], m(x)[0]
    assert not torch.equal(a, b)                                  # a fresh mask each call
    m.eval()
    assert torch.equal(m(x)[0], m(x)[0])
    one = snn.GRU(3, 6, num_layers=2, dropout=1.0)                # everything dropped: layer 2 sees zeros
    one.load_state_dict(m.state_dict())
    ref = torch.nn.GRU(6, 6)
    ref.load_state_dict({k.replace("_l1", "_l0"): v for k, v in m.state_dict().items() if "_l1" in k})
    assert torch.allclose(one(x)[0], ref(torch.zeros(5, 4, 6))[0], atol=1e-6)


def test_unbatched_input_and_bias_free_layers_as_torch():
    ours, ref = _pair("lstm", 2, True, False, 0, "tanh", torch.float64, bias=False)
    x = torch.randn(6, 3, dtype=torch.float64)
    (a, (ha, ca)), (b, (hb, cb)) = ours(x), ref(x)
    assert a.shape == b.shape and torch.allclose(a, b, atol=1e-12) and torch.allclose(ca, cb, atol=1e-12)


def test_what_the_kernels_cannot_run_is_refused_by_name():
    m = snn.LSTM(3, 4)
    with pytest.raises(TypeError, match="input: expected float32 or float64, got torch.float16"):
        m(torch.randn(5, 2, 3).half())
    with pytest.raises(TypeError, match="input: expected torch.float32, the parameters' dtype, got torch.float64"):
        m(torch.randn(5, 2, 3, dtype=torch.float64))
    with pytest.raises(RuntimeError, match="runs on the CPU"):
        m(torch.empty(5, 2, 3, device="meta"))
    with pytest.raises(ValueError, match="input: expected input_size 3"):
        m(torch.randn(5, 2, 4))
    with pytest.raises(ValueError, match=r"hx \(h0\): expected shape \(1, 2, 4\)"):
        m(torch.randn(5, 2, 3), (torch.zeros(1, 3, 4), torch.zeros(1, 2, 4)))
    x = torch.randn(5, 2, 3, requires_grad=True)
    out, _ = m(x)
    (g,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="once_differentiable|double backward|does not require grad"):
        g.sum().backward()


def test_torch_thread_count_is_left_as_it_was():
    before = torch.get_num_threads()
    m = snn.RNN(3, 4)
    m(torch.randn(5, 2, 3))[0].sum().backward()
    assert torch.get_num_threads() == before


@pytest.mark.slow
def test_torch_compile_runs_the_module():
    m = snn.GRU(3, 4)
    x = torch.randn(5, 2, 3)
    compiled = torch.compile(m)
    a = compiled(x)[0]
    assert torch.allclose(a, m(x)[0])
    a.sum().backward()
    assert all(p.grad is not None for p in m.parameters())


def test_the_same_classes_as_torch_nn():
    for ours, ref in PAIRS.values():
        assert issubclass(ours, ref)
    m = snn.LSTM(3, 4, proj_size=2)
    assert list(m.state_dict()) == list(torch.nn.LSTM(3, 4, proj_size=2).state_dict())
    assert list(itertools.chain(*[[n] for n, _ in m.named_parameters()])) == [n for n, _ in m.named_parameters()]


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_the_torch_engine_trains_the_same_with_these_layers(cell):
    """--engine torch-nn: the torch engine's loop (Adam, clipping) with scratch_rnn.nn's layer gives the
    torch engine's losses and parameters, float64, over 40 updates."""
    import scratch_rnn as sr
    from reference.train import TorchEngine
    from scratch_rnn.training.model import init_model
    sampler, task = sr.get_task("xor")
    p = init_model(cell, task.input_size, 12, task.outputs, np.random.default_rng(1), dtype=np.float64)
    a, b = TorchEngine(p, task, lr=1e-2, clip=1.0), TorchEngine(p, task, lr=1e-2, clip=1.0, layers="scratch_rnn")
    assert isinstance(b.model.layer, PAIRS[cell][0])
    rng = np.random.default_rng(2)
    for u in range(40):
        x, y = sampler(15, 8, rng, dtype=np.float64)
        assert abs(a.step(x, y, u).loss - b.step(x, y, u).loss) < 1e-12
    pa, pb = a.numpy_params(), b.numpy_params()
    assert max(np.abs(pa[k] - pb[k]).max() for k in pa) < 1e-12


def test_the_torch_nn_engine_runs_on_the_cpu_only():
    from scratch_rnn.study.specs import RunSpec, check_engine
    RunSpec("study", "xor", "lstm", "pytorch", 10, 0, 100, 1e-3, 8, 1.0, engine="torch-nn").check()
    with pytest.raises(ValueError, match="the torch-nn engine runs on the CPU"):
        check_engine("torch-nn", "cuda")
