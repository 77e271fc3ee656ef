"""The build hook: the message catalogues (runtime/locales/*/LC_MESSAGES/messages.po) are
compiled to .mo when the project is built or installed: into the wheel for `pip install .`,
beside the .po in the source tree for an editable install (`pip install -e .`, as
scripts/bootstrap does). The .mo files are never committed (.gitignore). Everything else
is in pyproject.toml."""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from setuptools import setup
from setuptools.command.build_py import build_py

LOCALES = Path("runtime") / "locales"


def compile_catalogues(source: Path, target: Path) -> list[str]:
    """Every source/<lang>/LC_MESSAGES/*.po as target/<lang>/LC_MESSAGES/*.mo."""
    written = []
    for po in sorted(source.glob("*/LC_MESSAGES/*.po")):
        mo = target / po.relative_to(source).with_suffix(".mo")
        mo.parent.mkdir(parents=True, exist_ok=True)
        with po.open("rb") as handle:
            catalog = read_po(handle)
        with mo.open("wb") as handle:
            write_mo(handle, catalog)
        written.append(str(mo))
    return written


class BuildWithCatalogues(build_py):
    def run(self) -> None:
        super().run()
        here = Path(__file__).resolve().parent
        if getattr(self, "editable_mode", False):
            compile_catalogues(here / LOCALES, here / LOCALES)
        else:
            compile_catalogues(here / LOCALES, Path(self.build_lib) / LOCALES)


setup(cmdclass={"build_py": BuildWithCatalogues})
