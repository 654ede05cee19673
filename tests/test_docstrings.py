"""Every public name of scratch_rnn and reference has a docstring in one style (Google's), as the API
reference renders it: a summary, every parameter under Args (with its shape or type in words), a
Returns section for a function that returns something, Raises where it raises on bad input, and
Attributes for a result or cache class. Parsed by griffe, the parser the site uses, with its
warnings treated as failures."""
import inspect
import logging

import griffe  # the test extra installs it: this test runs, and can fail, wherever the suite runs
import pytest

import reference
import scratch_rnn

PUBLIC = [("scratch_rnn", n) for n in scratch_rnn.__all__ if n != "__version__"] + \
         [("reference", n) for n in reference.__all__] + [("scratch_rnn.cells", n) for n in ("Cell", "get_cell")] + \
         [("scratch_rnn.rtrl", n) for n in ("rtrl_gradients", "RTRLGrads", "snap1_gradients", "eprop_gradients", "uoro_gradients",
                                                  "kfrtrl_gradients", "rflo_gradients")] + \
         [("scratch_rnn.online.measure", n) for n in ("alignment", "train_online", "cost", "feedback_matrix")] + \
         [("scratch_rnn.online.stream", "run_stream")] + \
         [("scratch_rnn.online.stream_tasks", n) for n in ("add_lags", "mimic_target")] + \
         [("scratch_rnn.check", n) for n in ("check_file", "check_namespace", "check_namespace_text", "check_family",
                                              "Report", "profile_figure", "text")] + \
         [("scratch_rnn.nn", n) for n in ("RNN", "LSTM", "GRU")]


@pytest.fixture(scope="module")
def packages():
    return {name: griffe.load(name, search_paths=["."], docstring_parser="google")
            for name in ("scratch_rnn", "reference")}


def _object(packages, module: str, name: str):
    root = packages[module.split(".")[0]]
    obj = root[f"{module.removeprefix(root.name).lstrip('.')}.{name}".lstrip(".")]
    return obj.final_target if obj.is_alias else obj


def _sections(obj, caplog) -> dict:
    with caplog.at_level(logging.WARNING):
        caplog.clear()
        parsed = obj.docstring.parse("google")
        warnings = [r.getMessage() for r in caplog.records]
    assert not warnings, f"{obj.path}: griffe warns: {warnings}"
    return {s.kind.value: s for s in parsed}


def _check_function(obj, sections, skip_self=False):
    params = [p.name for p in obj.parameters if p.name not in ("self", "cls") and not p.name.startswith("*")]
    params += [p.name.lstrip("*") for p in obj.parameters if p.name.startswith("*")]
    if params:
        assert "parameters" in sections, f"{obj.path}: no Args section for {params}"
        documented = [p.name.lstrip("*") for p in sections["parameters"].value]
        assert documented == params, f"{obj.path}: Args {documented} against the signature {params}"
    returns = obj.returns
    if returns is not None and str(returns) not in ("None",) and obj.name != "__init__":
        assert "returns" in sections or "yields" in sections, f"{obj.path}: no Returns section"
    for kind in ("returns", "yields"):
        if kind in sections:                 # one entry: a continuation line not indented becomes a fake entry
            entries = sections[kind].value   # with an invented type in the rendered table
            assert len(entries) == 1, (f"{obj.path}: its {kind.title()} section parses into {len(entries)} entries "
                                       f"({[e.description[:40] for e in entries]}): indent its continuation lines")


@pytest.mark.parametrize("module,name", PUBLIC, ids=[f"{m}.{n}" for m, n in PUBLIC])
def test_public_docstring_in_google_style(packages, module, name, caplog):
    obj = _object(packages, module, name)
    assert obj.docstring is not None and obj.docstring.value.strip(), f"{obj.path}: no docstring"
    sections = _sections(obj, caplog)
    assert "text" in sections, f"{obj.path}: no summary"
    if obj.is_function:
        _check_function(obj, sections)
        source = inspect.getsource(getattr(__import__(module, fromlist=[name]), name))
        if "raise ValueError" in source or "raise TypeError" in source:
            assert "raises" in sections, f"{obj.path}: raises on bad input but has no Raises section"
    elif obj.is_class:
        if any(str(d.value).startswith("dataclass") for d in obj.decorators):      # a result or a cache
            fields = [m.name for m in obj.members.values() if m.is_attribute and "instance-attribute" in m.labels
                      and not m.name.startswith("_")]
            assert "attributes" in sections, f"{obj.path}: no Attributes section"
            documented = [a.name for a in sections["attributes"].value]
            assert documented == fields, f"{obj.path}: Attributes {documented} against the fields {fields}"
        else:
            init = obj.members.get("__init__")
            if init is not None and len(init.parameters) > 1:
                _check_function(init, sections)
        for member in obj.members.values():
            if member.is_function and not member.name.startswith("_") and member.docstring is not None:
                _check_function(member, _sections(member, caplog))


FUNCTIONS = list(dict.fromkeys((m, n) for m, n in PUBLIC
                               if inspect.isfunction(getattr(__import__(m, fromlist=[n]), n))))


@pytest.mark.parametrize("module,name", FUNCTIONS, ids=[f"{m}.{n}" for m, n in FUNCTIONS])
def test_every_function_has_an_example_that_runs(module, name):
    """Each public function shows a short example in its docstring (rendered on the API pages), run
    here as written, with ``np`` and ``sr`` (numpy and scratch_rnn) imported."""
    import doctest

    import numpy as np
    fn = getattr(__import__(module, fromlist=[name]), name)
    doc = inspect.getdoc(fn) or ""
    assert "Examples:" in doc and ">>>" in doc, f"{module}.{name}: no example in its docstring"
    test = doctest.DocTestParser().get_doctest(doc, {"np": np, "sr": scratch_rnn}, name, None, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    report: list[str] = []
    result = runner.run(test, out=report.append)
    assert result.attempted and not result.failed, "".join(report)
