import numpy as np
import torch
from torch import nn

import scratch_rnn as sr

T, B, D, H, P = 20, 4, 3, 8, 5
torch.manual_seed(0)
m = nn.LSTM(D, H, num_layers=2, bidirectional=True, proj_size=P).double()     # any nn.RNN / nn.LSTM / nn.GRU
params = {k: v.detach().numpy() for k, v in m.state_dict().items()}            # its state_dict, as it is
rng = np.random.default_rng(0)
x, lengths = rng.standard_normal((T, B, D)), np.array([20, 13, 7, 20])         # a packed batch
dout = rng.standard_normal((T, B, 2 * P))                                       # L = sum(dout * out)

out, h_n, c_n, cache = sr.stack_forward(params, x, "lstm", num_layers=2, bidirectional=True, proj_size=P,
                                        lengths=lengths)
g = sr.stack_backward(cache, dout)

xt = torch.from_numpy(x).requires_grad_()
packed = nn.utils.rnn.pack_padded_sequence(xt, torch.from_numpy(lengths), enforce_sorted=False)
yt = nn.utils.rnn.pad_packed_sequence(m(packed)[0], total_length=T)[0]
(yt * torch.from_numpy(dout)).sum().backward()

np.testing.assert_allclose(out, yt.detach().numpy(), rtol=1e-12, atol=1e-14)
for name, p in m.named_parameters():
    np.testing.assert_allclose(g.params[name], p.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)
np.testing.assert_allclose(g.x, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
print("every gradient of the stack equals autograd's")
