"""Ships the committed result records inside the package, so that chapters read them anywhere.

``pyproject.toml`` holds the package's metadata; this file only adds one build step: the record
files under ``results/`` (JSON and JSON lines, not the sweeps' logs, locks or caches) are copied to
``adlip/_results/`` in the built package, where :func:`adlip.records.results_folder` finds them when
a chapter runs outside a checkout of the repository.
"""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

RECORD_SUFFIXES = (".json", ".jsonl")
SKIPPED_FOLDERS = {"logs", ".locks", ".cache", "smoke"}


class BuildWithRecords(build_py):
    def run(self):
        super().run()
        source = Path(__file__).resolve().parent / "results"
        target = Path(self.build_lib) / "adlip" / "_results"
        for path in sorted(source.rglob("*")) if source.is_dir() else []:
            relative = path.relative_to(source)
            if (path.is_file() and path.suffix in RECORD_SUFFIXES and not path.name.startswith(".")
                    and not SKIPPED_FOLDERS & set(relative.parts[:-1])):
                (target / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target / relative)


setup(cmdclass={"build_py": BuildWithRecords})
