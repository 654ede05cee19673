"""Character-level language modelling: streaming TBPTT(k1, k2) against torch, bits per character,
sampling, and the charlm / sample commands."""
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import scratch_rnn as sr
from reference import params_to_torch
from scratch_rnn.cli import main
from scratch_rnn.charlm.tbptt import TBPTT, bits_per_char, sample, streams
from scratch_rnn.training.text import Vocabulary, load_text, split
from scratch_rnn.training.tasks import one_hot

TEXT = "the quick brown fox jumps over the lazy dog; " * 80


def test_vocabulary_streams_and_split():
    v = Vocabulary.of("abca")
    assert v.chars == "abc" and v.decode(v.encode("cab")) == "cab"
    with pytest.raises(ValueError, match=r"text: expected characters of the vocabulary, got 1 others: \['z'\]"):
        v.encode("az")
    ids = np.arange(10)
    assert streams(ids, 3).tolist() == [[0, 3, 6], [1, 4, 7], [2, 5, 8]]
    assert [len(a) for a in split(ids, 0.8)] == [8, 2]
    with pytest.raises(ValueError, match=r"--batch: expected at most 5 streams for 10 characters, got 6"):
        streams(ids, 6)


def test_default_text_is_cpythons_pydoc_topics():
    text = load_text()
    assert len(text) > 400_000 and "Truth Value Testing" in text


def test_tbptt_matches_a_torch_loop_with_carried_state():
    """5 updates of TBPTT(3, 5) on 2 streams, float64: the same losses as torch doing the same thing
    (a window of k2 steps from the carried, detached state; the loss on its last k1 steps; Adam, clipping)."""
    v = Vocabulary.of(TEXT)
    st = streams(v.encode(TEXT[:200]), 2)
    p = sr.init_model("lstm", v.size, 6, v.size, np.random.default_rng(0), dtype=np.float64)
    layer = params_to_torch({k: p[k] for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")},
                            nn.LSTM(v.size, 6).double())
    head = nn.Linear(6, v.size).double()
    with torch.no_grad():
        head.weight.copy_(torch.from_numpy(p["head_weight"]))
        head.bias.copy_(torch.from_numpy(p["head_bias"]))
    params = list(layer.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=1e-2)
    trainer = TBPTT(p, st, 3, 5, lr=1e-2, clip=0.5)
    ours = [trainer.step() for _ in range(5)]
    theirs, states, pos = [], {0: None}, 0                      # states[s]: the state entering step s
    for _ in range(5):
        start, end = max(0, pos + 3 - 5), pos + 3
        x = torch.from_numpy(one_hot(st[start:end], v.size, np.float64))
        out, _ = layer(x, states[start])
        hs = [layer(x[:t + 1], states[start])[1] for t in range(end - start)]   # the state after each step
        for t, (h, c) in enumerate(hs):
            states[start + t + 1] = (h.detach(), c.detach())
        loss = F.cross_entropy(head(out[-3:]).reshape(-1, v.size), torch.from_numpy(st[end - 2:end + 1]).reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 0.5)
        opt.step()
        theirs.append(loss.item())
        pos = end
    assert np.max(np.abs(np.array(ours) - np.array(theirs))) <= 1e-9


def test_tbptt_bad_options():
    v = Vocabulary.of(TEXT)
    p = sr.init_model("gru", v.size, 4, v.size, np.random.default_rng(0))
    st = streams(v.encode(TEXT), 4)
    with pytest.raises(ValueError, match=r"--tbptt: expected k2 >= k1 .*, got k1=5, k2=3"):
        TBPTT(p, st, 5, 3)
    with pytest.raises(ValueError, match=r"--tbptt k1: expected an integer >= 1, got 0"):
        TBPTT(p, st, 0, 3)


def test_bits_per_char_of_a_uniform_model_is_log2_of_the_vocabulary():
    v = Vocabulary.of(TEXT)
    p = sr.init_model("rnn", v.size, 4, v.size, np.random.default_rng(0), dtype=np.float64)
    p["head_weight"][:] = 0
    p["head_bias"][:] = 0                                      # every character equally likely
    assert abs(bits_per_char(p, v.encode(TEXT), B=4, chunk=7) - np.log2(v.size)) <= 1e-12


def test_sampling_is_seeded_and_checked():
    v = Vocabulary.of(TEXT)
    p = sr.init_model("lstm", v.size, 4, v.size, np.random.default_rng(0))
    a = sample(p, v, 50, 0.8, np.random.default_rng(1))
    assert a == sample(p, v, 50, 0.8, np.random.default_rng(1)) and len(a) == 50 and set(a) <= set(v.chars)
    with pytest.raises(ValueError, match=r"--temperature: expected a number > 0, got 0"):
        sample(p, v, 5, 0, np.random.default_rng(1))
    with pytest.raises(ValueError, match=r"--prime: expected at least one character"):
        sample(p, v, 5, 1.0, np.random.default_rng(1), prime="")
    with pytest.raises(ValueError, match=r"--prime: expected characters of the model's vocabulary, got others: \['\\n'\]"):
        sample(p, v, 5, 1.0, np.random.default_rng(1), prime="\n")


@pytest.mark.slow
def test_charlm_and_sample_commands_resume_and_refuse_another_configuration(tmp_path, capsys):
    text = tmp_path / "t.txt"
    text.write_text(TEXT)
    out = tmp_path / "lm"
    base = ["charlm", "--text", str(text), "--hidden", "8", "--tbptt", "4,8", "--batch", "4", "--eval-every", "10",
            "--out", str(out)]
    assert main([*base, "--updates", "20"]) == 0
    log = json.loads((out / "charlm.json").read_text())
    assert len(log["losses"]) == 20 and [e["update"] for e in log["evaluations"]] == [10, 20]
    assert main([*base, "--updates", "30"]) == 0                   # continues from update 20
    log = json.loads((out / "charlm.json").read_text())
    assert len(log["losses"]) == 30 and [e["update"] for e in log["evaluations"]] == [10, 20, 30]
    assert main(["sample", str(out / "charlm.npz"), "--chars", "40", "--seed", "3"]) == 0
    assert len(capsys.readouterr().out.rstrip("\n").split("\n")[-1]) > 0
    assert main([*base[:-4], "--hidden", "9", "--out", str(out), "--updates", "30"]) == 2
    assert "holds a checkpoint of another configuration (differs in ['hidden'])" in capsys.readouterr().err
    assert main(["charlm", "--text", str(tmp_path / "missing.txt"), "--out", str(out)]) == 2
    assert "--text" in capsys.readouterr().err


def _charlm_args(tmp_path, out, updates=24):
    text = tmp_path / "t.txt"
    text.write_text(TEXT)
    return ["charlm", "--text", str(text), "--hidden", "8", "--tbptt", "4,6", "--batch", "4", "--eval-every", "10",
            "--updates", str(updates), "--out", str(out)]


def test_a_signal_stops_charlm_between_updates_and_the_resumed_run_is_bit_identical(tmp_path, monkeypatch, capsys):
    """SIGINT or SIGTERM delivered in the middle of an update (seeded points, before and after the
    evaluations): the run saves after that update completes and exits 130 / 143; run again, it ends
    with the parameters of a run that was never stopped, bit for bit."""
    import os
    import signal
    assert main(_charlm_args(tmp_path, tmp_path / "straight")) == 0
    straight = sr.load_checkpoint(tmp_path / "straight" / "charlm.npz")["params"]
    real_step = TBPTT.step
    points = sorted(np.random.default_rng(7).choice(np.arange(1, 24), 4, replace=False))
    for case, at in enumerate(points):
        out, sig = tmp_path / f"stopped{case}", (signal.SIGINT, signal.SIGTERM)[case % 2]
        calls = []

        def step(self, at=at, sig=sig, calls=calls):
            calls.append(1)
            if len(calls) == at:
                os.kill(os.getpid(), sig)                          # arrives in the middle of this update
            return real_step(self)
        monkeypatch.setattr(TBPTT, "step", step)
        assert main(_charlm_args(tmp_path, out)) == 128 + sig
        err = capsys.readouterr().err
        assert f"holds update {at} of 24; run the same command again to continue" in err
        ck = sr.load_checkpoint(out / "charlm.npz")
        assert ck["update"] == at and int(ck["optimizer"]["steps"]) == at   # the update and Adam's count agree
        monkeypatch.setattr(TBPTT, "step", real_step)
        assert main(_charlm_args(tmp_path, out)) == 0
        final = sr.load_checkpoint(out / "charlm.npz")["params"]
        assert all(np.array_equal(final[k], straight[k]) for k in straight), f"stopped at {at}"


@pytest.mark.slow
def test_charlm_stopped_from_outside_by_sigterm_resumes_bit_identical(tmp_path):
    """A real SIGTERM from another process at a seeded moment, then the same command to the end."""
    import signal
    import subprocess
    import sys
    import time
    base = [sys.executable, "-m", "scratch_rnn.cli", *_charlm_args(tmp_path, tmp_path / "x", 2000)]
    subprocess.run([*base[:-1], str(tmp_path / "straight")], check=True, capture_output=True, timeout=600)
    straight = sr.load_checkpoint(tmp_path / "straight" / "charlm.npz")["params"]
    proc = subprocess.Popen(base, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (tmp_path / "x" / "charlm.npz").exists() and time.time() < deadline:   # past the first checkpoint
        time.sleep(0.05)
    time.sleep(float(np.random.default_rng(3).uniform(0, 0.5)))
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143 and "interrupted by SIGTERM" in err, err[-2000:]
    subprocess.run(base, check=True, capture_output=True, timeout=600)
    final = sr.load_checkpoint(tmp_path / "x" / "charlm.npz")["params"]
    assert all(np.array_equal(final[k], straight[k]) for k in straight)