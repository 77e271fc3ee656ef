"""The message catalogues are compiled when the project is installed, not committed: a
non-editable `pip install .` puts runtime/locales/fr/LC_MESSAGES/messages.mo in place (the
build hook in setup.py), and the installed package translates with it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SKIP = shutil.ignore_patterns(".venv", ".git", "build", "*.egg-info", "__pycache__", "*.mo",
                              ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis",
                              "tests", "bench", "docs", "*.db", "*.token-key")


@pytest.mark.slow
def test_a_plain_pip_install_compiles_the_catalogues(tmp_path: Path) -> None:
    source, target = tmp_path / "source", tmp_path / "site"
    shutil.copytree(ROOT, source, ignore=SKIP)
    assert not list(source.rglob("*.mo"))
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    "--no-build-isolation", "--target", str(target), str(source)],
                   check=True, capture_output=True, timeout=300)
    mo = target / "runtime" / "locales" / "fr" / "LC_MESSAGES" / "messages.mo"
    assert mo.is_file() and (mo.parent / "messages.po").is_file()
    check = (f"from runtime import i18n; assert i18n.LOCALES_DIR.is_relative_to({str(target)!r});"
             "print(i18n.gettext('fr', 'Your flattr wallet is too low'))")
    out = subprocess.run([sys.executable, "-c", check], cwd=tmp_path, check=True,
                         capture_output=True, text=True, timeout=60,
                         env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"})
    assert out.stdout.strip() == "Votre porte-monnaie flattr est trop bas"


def test_no_compiled_catalogue_is_committed() -> None:
    tracked = subprocess.run(["git", "ls-files", "*.mo"], cwd=ROOT, capture_output=True,
                             text=True, check=False).stdout
    assert tracked == ""
    assert "*.mo" in (ROOT / ".gitignore").read_text().split()
