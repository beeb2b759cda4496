"""The one registry of adlip's algorithms: what each name in a result record is.

Every detector module registers the algorithms it implements, once, at its end::

    register(Algorithm("deepsvdd-oc", partial(DeepSVDD, objective="one-class"), "DeepSVDD OC", "thesis"))

and everything else (the sweeps' grids and run checks, the tables' headings, the plots' colours,
``make_detector``) reads this table instead of keeping a list of its own. Adding a detector is
writing its module and registering it there.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

GROUPS = ("thesis", "baseline", "companion")


@dataclass(frozen=True)
class Algorithm:
    """One algorithm name and what it means.

    ``factory`` builds the detector from keyword arguments (a class, or a ``functools.partial`` of one
    that fixes some of them); ``label`` is its heading in tables and legends; ``group`` says whether
    it is one of the thesis's detectors, a classical baseline or a companion paper's; ``lipschitz``
    is what its Lipschitz constant may be: "any" (standard or K-Lipschitz), "none" (it has no
    Lipschitz version) or a number (it is that-Lipschitz by construction and must be run so);
    ``color`` is its colour in the book's figures.
    """

    name: str
    factory: Callable
    label: str
    group: str
    lipschitz: object = "any"
    color: str | None = None

    def __post_init__(self):
        if self.group not in GROUPS:
            raise ValueError(f"group must be one of {GROUPS}, got {self.group!r}")
        if self.lipschitz not in ("any", "none") and not (isinstance(self.lipschitz, float) and self.lipschitz > 0):
            raise ValueError(f"lipschitz must be 'any', 'none' or a positive float, got {self.lipschitz!r}")

    @property
    def detector_class(self) -> type:
        return self.factory.func if isinstance(self.factory, partial) else self.factory

    @property
    def scaling(self) -> str:
        """The ``one_vs_rest`` scaling the detector expects (its class's ``scaling`` attribute)."""
        return getattr(self.detector_class, "scaling", "gcn")

    def check_lipschitz(self, lipschitz) -> None:
        """Refuse a constant this algorithm cannot be run with, saying which it takes."""
        if self.lipschitz == "none" and lipschitz is not None:
            raise ValueError(f"{self.name} is a classical baseline and has no Lipschitz version")
        if isinstance(self.lipschitz, float) and lipschitz != self.lipschitz:
            raise ValueError(f"{self.name} ({self.label}) is {self.lipschitz:g}-Lipschitz by construction; run it "
                             f"with lipschitz={self.lipschitz:g} (--lipschitz {self.lipschitz:g}), got {lipschitz!r}")


ALGORITHMS: dict = {}


def register(algorithm: Algorithm) -> Algorithm:
    """Add an algorithm; a name can be registered once (a second module claiming it is a bug)."""
    if algorithm.name in ALGORITHMS and ALGORITHMS[algorithm.name] != algorithm:
        raise ValueError(f"algorithm {algorithm.name!r} is already registered")
    ALGORITHMS[algorithm.name] = algorithm
    return algorithm


def get_algorithm(name: str) -> Algorithm:
    if name not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {name!r}; choose one of {sorted(ALGORITHMS)}")
    return ALGORITHMS[name]


def names(group: str | None = None) -> tuple:
    """Registered names in registration order, optionally of one group."""
    if group is not None and group not in GROUPS:
        raise ValueError(f"group must be one of {GROUPS}, got {group!r}")
    return tuple(name for name, a in ALGORITHMS.items() if group is None or a.group == group)


def labels(group: str | None = None) -> dict:
    return {name: ALGORITHMS[name].label for name in names(group)}


def colors() -> dict:
    return {name: a.color for name, a in ALGORITHMS.items() if a.color}
