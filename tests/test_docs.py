"""The README stays true to the code: every environment variable the settings read is documented."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_it_documents_every_environment_variable_in_the_readme() -> None:
    settings_source = (ROOT / "src" / "civicgrid" / "settings.py").read_text(encoding="utf-8")
    read = set(re.findall(r'env_\w+\(\s*"([A-Z0-9_]+)"', settings_source))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")

    assert read, "the settings read no variables? the pattern is wrong"
    missing = sorted(name for name in read if f"`{name}`" not in readme)
    assert not missing, f"README does not document: {missing}"


def test_it_starts_the_readme_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = readme.split("```")[1]

    assert "make demo" in first_block and "make test" in first_block
