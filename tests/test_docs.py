"""The documentation's code runs: the how-to's snippets (each asserts its own comparison with
autograd), and the site's configuration names pages that exist."""
import runpy
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.mark.parametrize("name,says", [("check_stack.py", "every gradient of every stack equals autograd's"),
                                       ("check_totals.py", "largest relative error")])
def test_howto_snippet_runs_and_checks_itself(name, says, capsys):
    runpy.run_path(str(DOCS / "snippets" / name), run_name="__main__")
    assert says in capsys.readouterr().out


def test_every_page_of_the_nav_exists():
    import re
    nav = re.findall(r":\s+([\w/.-]+\.(?:md|ipynb))\s*$", (DOCS.parent / "mkdocs.yml").read_text(), re.M)
    assert len(nav) >= 10
    assert [p for p in nav if not (DOCS / p).is_file()] == []
