"""The documentation's code runs: the how-to's code blocks (each asserts its own comparison with
autograd), and the site's configuration names pages that exist."""
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _python_blocks(page: Path) -> list[str]:
    import re
    return re.findall(r"(?ms)^```python\n(.*?)^```", page.read_text())


@pytest.mark.parametrize("index,says", [(0, "every gradient of every stack equals autograd's"),
                                        (1, "largest relative error")])
def test_howto_code_runs_and_checks_itself(index, says, capsys):
    """The how-to's code, as the page shows it (no include: the page reads the same on a code host):
    each block asserts its own comparison with autograd and prints the largest error it measured."""
    blocks = _python_blocks(DOCS / "gradients.md")
    assert len(blocks) == 2
    exec(compile(blocks[index], f"docs/gradients.md, code block {index + 1}", "exec"), {"__name__": "__main__"})
    assert says in capsys.readouterr().out


def test_every_page_of_the_nav_exists():
    import re
    nav = re.findall(r":\s+([\w/.-]+\.(?:md|ipynb))\s*$", (DOCS.parent / "mkdocs.yml").read_text(), re.M)
    assert len(nav) >= 10
    assert [p for p in nav if not (DOCS / p).is_file()] == []


def test_every_page_shows_its_result_files_as_they_are():
    """A page shows a committed result between markers (no include line: it reads whole on a code host
    too); a result refreshed without `python docs/sync_results.py` fails here, naming page and file."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("sync_results", DOCS / "sync_results.py")
    sync = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sync)
    pages = sync.pages()
    assert {p.name for p in pages} >= {"README.md", "check.md", "nn.md", "speed.md"}
    assert [f"{p.name}: {f}" for p in pages for f in sync.stale(p)] == []
