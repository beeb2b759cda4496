"""Studies: what the book's chapters run with the detectors, at a profile's budget.

A study knows its grid of runs, its budget per profile and the paper it is compared with; the
estimators in :mod:`adlip.detectors` know none of that. ``hkr``, ``vae`` and ``regsvdd`` are the
companion papers' chapter studies; the thesis's experiments and sweeps are :mod:`adlip.experiments`.
"""
