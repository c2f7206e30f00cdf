"""A release is a tag `vVERSION`: the README's pre-commit `rev:` names it, the CHANGELOG has its
section, and `cloisterctl --version` prints it."""

from __future__ import annotations

import re

from cloisterctl import __version__
from testing.helpers import REPO_ROOT, run


def test_the_readme_s_hooks_need_no_rev_and_the_changelog_and_the_version_agree() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    # The README's pre-commit block is `repo: local` (the installed cloisterctl): no `rev:` that
    # could name a tag a clone does not have (tests/hooks/test_readme_precommit.py runs it).
    assert re.findall(r"^\s+rev: (\S+)$", readme, flags=re.MULTILINE) == []
    changelog = (REPO_ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert re.search(rf"^## {re.escape(__version__)} — \d{{4}}-\d{{2}}-\d{{2}}$", changelog, flags=re.MULTILINE)
    result = run(REPO_ROOT, "--version")
    assert result.exit_code == 0 and result.output.strip() == f"cloisterctl {__version__}"
