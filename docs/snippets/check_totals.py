import numpy as np
import torch
from torch import nn

import scratch_rnn as sr

T, B, D, H = 30, 4, 3, 8
torch.manual_seed(0)
cell = nn.LSTMCell(D, H).double()                                          # the same weights, one step at a time
params = {k: v.detach().numpy() for k, v in cell.state_dict().items()}     # weight_ih, weight_hh, bias_ih, bias_hh
x = np.random.default_rng(0).standard_normal((T, B, D))
dh = np.zeros((T, B, H))
dh[-1] = 1.0                                                               # a loss on the last state only

h, c, cache = sr.lstm_forward(params, x)
g = sr.lstm_backward(cache, dh)                                            # g.h: the total dL/dh_t, (T, B, H)

hs, state = [], (torch.zeros(B, H, dtype=torch.float64), torch.zeros(B, H, dtype=torch.float64))
for t in range(T):                                                         # unrolled, so every h_t is a tensor
    state = cell(torch.from_numpy(x[t]), state)
    state[0].retain_grad()
    hs.append(state[0])
(torch.stack(hs) * torch.from_numpy(dh)).sum().backward()
totals = np.stack([h_t.grad.numpy() for h_t in hs])                        # autograd's dL/dh_t, every t

error = np.abs(g.h - totals).max() / np.abs(totals).max()                   # relative to the largest
print(f"the totals dL/dh_t against autograd's: largest relative error {error:.1e}")
assert error <= 1e-10
print("||dL/dh_t|| at t = 0, T/2 and T - 1:", np.linalg.norm(g.h, axis=(1, 2))[[0, T // 2, -1]])
