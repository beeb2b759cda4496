"""Captions: one sentence on the budget behind a table, from its records (:func:`budget_caption`),
and the thesis's budget for an experiment (:func:`thesis_budget_caption`).

Apart from :mod:`adlip.tables.core` because they read the records' budget fields (profile,
epochs, seeds, set sizes, latent steps, normalisation, bound pairs) rather than their results.
"""
from __future__ import annotations

from collections import Counter

from adlip import reference as ref
from adlip.tables.core import DATASET_LABELS, MISSING, _algorithm_order, is_failed, label


def _order(value) -> tuple:
    """Numbers in numeric order, then anything else (such as "350+250") as text."""
    try:
        return (0, float(value), "")
    except (TypeError, ValueError):
        return (1, 0.0, str(value))


def _span(values) -> str:
    values = sorted(set(values), key=_order)
    if not values:
        return MISSING
    return str(values[0]) if len(values) == 1 else f"{values[0]}–{values[-1]}"

def budget_caption(records, datasets=None) -> str:
    """One sentence on the budget that produced a table, from its records.

    Names the profile, the training epochs per algorithm, the number of seeds, the training
    and test set sizes, and how many failed runs were left out. A profile may give each data set
    its own budget, so records of several data sets get one clause per data set. ``datasets``
    restricts the sentence to the data sets a table shows.
    """
    if datasets is not None:
        records = [r for r in records if r.get("dataset") in datasets]
    present = {r.get("dataset") for r in records}
    datasets = [d for d in ref.DATASETS if d in present] + sorted(present - set(ref.DATASETS), key=str)
    if len(datasets) > 1:
        clauses = [f"{DATASET_LABELS.get(d, d)}: "
                   + _budget_clause([r for r in records if r.get("dataset") == d]).removeprefix("adlip: ")
                   for d in datasets]
        return "adlip, " + " ".join(clauses)
    return _budget_clause(records)


def _budget_clause(records) -> str:
    ok = [r for r in records if not is_failed(r)]
    failed = len(records) - len(ok)
    if not ok:
        return f"adlip: no completed runs yet ({failed} failed)." if failed else "adlip: no runs yet."
    profiles = _span(str(r.get("profile")) for r in ok)
    trained = [r for r in ok if r.get("epochs")]  # classical baselines have no epochs
    epochs = ", ".join(f"{label(a)} {_span(_phase_epochs(r) for r in trained if r['algorithm'] == a)}"
                       for a in _algorithm_order(trained))
    seeds = len({r.get("seed") for r in ok})
    text = (f"adlip: profile {profiles}, {f'epochs {epochs}, ' if epochs else ''}"
            f"{seeds} seed{'s' if seeds != 1 else ''}, "
            f"{_span(r.get('n_train') for r in ok if r.get('n_train'))} train / {_test_sizes(ok)}")
    steps = [(r.get("detector_params") or {}).get("latent_steps") for r in ok if r["algorithm"] == "anogan"]
    if any(steps):
        rates = [(r.get("detector_params") or {}).get("latent_learning_rate") for r in ok if r["algorithm"] == "anogan"]
        rate = f" at Adam rate {_span(f'{v:g}' for v in rates if v)}" if any(rates) else ""
        text += f", AnoGAN latent search {_span(s for s in steps if s)} steps{rate}"
    orthogonalizations = {(r.get("budget") or {}).get("orthogonalization") for r in ok
                          if r["algorithm"] == "anogan" and r.get("lipschitz") is not None}
    if orthogonalizations - {None}:
        text += f", Lipschitz GAN layers normalised by {' / '.join(sorted(orthogonalizations - {None}))}"
    measured = [r for r in ok if r.get("lip_lower_bound") is not None]   # the baselines measure none
    pairs = {(r.get("profile_budget") or {}).get("lip_pairs_per_round") for r in measured}
    rounds = {(r.get("profile_budget") or {}).get("lip_rounds") for r in measured}
    if len(pairs) == 1 and len(rounds) == 1 and None not in pairs | rounds:
        text += f", bound over {rounds.pop()} rounds of {_count(pairs.pop())} random pairs"
    if failed:
        text += f"; {failed} failed run{'s' if failed != 1 else ''} excluded"
    return text + "."


def _phase_epochs(record):
    """A run's epochs as the caption states them: Deep SVDD's as "pretraining+Deep SVDD phase"."""
    budget = record.get("budget") or {}
    if budget.get("pretrain_epochs") is not None and budget.get("deepsvdd_epochs") is not None:
        return f"{budget['pretrain_epochs']}+{budget['deepsvdd_epochs']}"   # 0+250: not pretrained
    return record["epochs"]


def _count(n: int) -> str:
    return f"{n / 1e6:g} million" if n >= 1_000_000 else f"{n:,}"


def _test_sizes(ok) -> str:
    per_algorithm = {a: _span(r.get("n_test") for r in ok if r["algorithm"] == a and r.get("n_test"))
                     for a in _algorithm_order(ok)}
    common = Counter(per_algorithm.values()).most_common(1)[0][0]
    others = [f"{label(a)} {size}" for a, size in per_algorithm.items() if size != common]
    return f"{common} test images" + (f" ({', '.join(others)})" if others else "")


def thesis_budget_caption(experiment: str) -> str:
    """One sentence on the thesis's budget for an experiment (from ``reference.THESIS_BUDGET``)."""
    budget = ref.THESIS_BUDGET
    epochs = budget["epochs"]
    anogan = epochs["anogan"]
    seeds = budget["seeds"]
    anogan_seeds = f" (AnoGAN {budget['exp1_anogan_seeds']})" if experiment == "exp1" else ""
    return (f"thesis: epochs DCAE {epochs['dcae']}, DeepSVDD {epochs['deepsvdd-oc']} (after DCAE pretraining), "
            f"AnoGAN {anogan['mnist']} (MNIST) / {anogan['cifar10']} (CIFAR-10); {seeds} seeds{anogan_seeds}; "
            f"whole normal training class; {budget['test_size']} test images "
            f"(AnoGAN {budget['anogan_test_size']}, drawn with seed {budget['anogan_test_seed']}).")


def _caption(description: str, records, experiment: str, datasets=None) -> str:
    return f"{description} {budget_caption(records, datasets)} {thesis_budget_caption(experiment)}"
