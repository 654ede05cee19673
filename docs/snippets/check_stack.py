import numpy as np
import torch
from torch import nn

import scratch_rnn as sr

T, B, D, H = 20, 4, 3, 8
rng = np.random.default_rng(0)
lengths = np.array([20, 13, 7, 20])                                             # a packed batch
for cell, module, options in (("rnn", nn.RNN, {}), ("lstm", nn.LSTM, {"proj_size": 5}), ("gru", nn.GRU, {})):
    for dtype, tolerance in ((torch.float64, 1e-10), (torch.float32, 1e-4)):
        for batch_first in (False, True):
            torch.manual_seed(0)
            m = module(D, H, num_layers=2, bidirectional=True, batch_first=batch_first, **options).to(dtype)
            params = {k: v.detach().numpy() for k, v in m.state_dict().items()}    # its state_dict, as it is
            x = rng.standard_normal((B, T, D) if batch_first else (T, B, D)).astype(params["weight_hh_l0"].dtype)
            out, h_n, c_n, cache = sr.stack_forward(params, x, cell, num_layers=2, bidirectional=True,
                                                    batch_first=batch_first, lengths=lengths, **options)
            dout = rng.standard_normal(out.shape).astype(x.dtype)               # L = sum(dout * out)
            g = sr.stack_backward(cache, dout)

            xt = torch.from_numpy(x).requires_grad_()
            packed = nn.utils.rnn.pack_padded_sequence(xt, torch.from_numpy(lengths), batch_first=batch_first,
                                                       enforce_sorted=False)
            yt = nn.utils.rnn.pad_packed_sequence(m(packed)[0], batch_first=batch_first, total_length=T)[0]
            (yt * torch.from_numpy(dout)).sum().backward()

            def error(ours, theirs):                                            # relative to the largest entry
                return float(np.abs(ours - theirs).max() / np.abs(theirs).max())
            worst = max([error(out, yt.detach().numpy()), error(g.x, xt.grad.numpy())]
                        + [error(g.params[name], p.grad.numpy()) for name, p in m.named_parameters()])
            print(f"{cell:4} {str(dtype)[6:]:7} batch_first={batch_first!s:5}  largest relative error {worst:.1e}")
            assert worst < tolerance, (cell, dtype, batch_first, worst)
print("every gradient of every stack equals autograd's")
