"""Every study of the book, by name: what ``python -m adlip study`` and the chapters look up.

A new study is one module in :mod:`adlip.studies` that defines a :class:`~adlip.studies.base.Study`,
plus one line here.
"""
from __future__ import annotations

from adlip.studies.base import Study

STUDIES: dict = {}


def register(study: Study) -> Study:
    """Add ``study`` to the catalog (its name must be new)."""
    if study.name in STUDIES:
        raise ValueError(f"a study named {study.name!r} is already registered")
    STUDIES[study.name] = study
    return study


def get_study(name) -> Study:
    """The study called ``name``; the error lists the known ones."""
    if isinstance(name, Study):
        return name
    if name not in STUDIES:
        raise ValueError(f"unknown study {name!r}; choose one of {sorted(STUDIES)}")
    return STUDIES[name]


def records(study, profile: str, results_dir="results", run=None, **options) -> list:
    """The records of ``study`` (a name or a Study) at ``profile``: see :meth:`Study.records`."""
    return get_study(study).records(profile, results_dir=results_dir, run=run, **options)


# -- the studies, in the book's order ----------------------------------------------------------
# (each import below brings one study; keep one line per study module)
from adlip.experiments import STUDIES as _EXPERIMENTS  # noqa: E402
for _study in _EXPERIMENTS.values():
    register(_study)
from adlip.studies.decoders import DECODERS  # noqa: E402
register(DECODERS)
from adlip.studies.attacks import ATTACKS  # noqa: E402
register(ATTACKS)
from adlip.studies.gnp import GNP  # noqa: E402
register(GNP)
from adlip.studies.hkr import HKR  # noqa: E402
register(HKR)
from adlip.studies.realnvp import REALNVP  # noqa: E402
register(REALNVP)
from adlip.studies.mode_collapse import MODE_COLLAPSE  # noqa: E402
register(MODE_COLLAPSE)
from adlip.studies.center_norm import CENTER_NORM  # noqa: E402
register(CENTER_NORM)
from adlip.studies.pretraining import PRETRAINING  # noqa: E402
register(PRETRAINING)
from adlip.studies.latent_search import LATENT_SEARCH  # noqa: E402
register(LATENT_SEARCH)
