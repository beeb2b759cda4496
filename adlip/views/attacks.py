"""The tables and figures of the attacks chapter (16), drawn from one record of :mod:`adlip.studies.attacks`.

Every function takes a record as :func:`~adlip.studies.attacks.run_attacks` returns it (or as the
study's committed files hold it): tables are :class:`~adlip.tables.core.Table` objects whose caption
states the run's budget (:meth:`AttackBudget.caption`), figures are matplotlib figures, statements
are Markdown. A detector's family and variant come from the study's lineup (each record row is a
lineup entry, a registered algorithm), and rows follow the lineup's order. matplotlib and IPython
are imported when a function needs them.
"""
from __future__ import annotations

import numpy as np

from adlip.data import CLASS_NAMES
from adlip.studies.attacks import TABLE_RADII, AttackBudget, entry_of, ordered
from adlip.tables.core import Table

NORM_LABELS = {"l2": "L2", "linf": "Linf"}
STYLE = {"standard": dict(color="tab:red", marker="o"), "Lipschitz": dict(color="tab:blue", marker="s")}


def caption(record) -> str:
    """The budget the record was made with, in words."""
    return AttackBudget.of_record(record).caption()


def _names(record, part="detectors") -> list:
    """The detectors of one part of the record's results, in the lineup's order."""
    return ordered(record["results"][part])


def _families(record) -> dict:
    """{family heading: {variant: detector name}}, families in the lineup's order."""
    families = {}
    for name in _names(record):
        entry = entry_of(name)
        families.setdefault(entry.family, {})[entry.variant] = name
    return families


def data_summary(record) -> str:
    """One line: the data set, its normal class, the training and test images and the networks' K."""
    budget, dataset = record["results"]["budget"], record["dataset"]
    constants = {entry_of(name).algorithm: detector["k"] for name, detector in record["results"]["detectors"].items()
                 if detector["k"] is not None}
    return (f"{dataset}, normal class {record['normal_class']} ({CLASS_NAMES[dataset][record['normal_class']]}): "
            f"{budget.get('n_train', budget['train_size'])} training images, {budget['n_test']} test images; "
            f"K = {constants}")


def detector_table(record) -> Table:
    """The detectors: K, the score constant L, the clean ROC-AUC and the training time."""
    rows = []
    for name in _names(record):
        d = record["results"]["detectors"][name]
        rows.append([name, "-" if d["k"] is None else f"{d['k']:g}",
                     "none" if d["constant"] is None else f"{d['constant']:.4g}", f"{100 * d['clean_auc']:.1f}",
                     "-" if d["train_seconds"] is None else f"{d['train_seconds']:.0f}"])
    return Table("The detectors", ["detector", "K", "score constant L", "ROC-AUC (%)", "training (s)"], rows,
                 caption=caption(record))


def plot_curves(record, norm: str):
    """Per family (a column), attack success (top) and ROC-AUC under attack (bottom) against the budget."""
    import matplotlib.pyplot as plt

    results, families = record["results"], _families(record)
    figure, axes = plt.subplots(2, len(families), figsize=(2.9 * len(families), 5.2), sharey="row", squeeze=False)
    for column, (family, variants) in enumerate(families.items()):
        for variant, name in variants.items():
            curve = results["curves"][name][norm]
            budgets = np.asarray(curve["epsilons"]) / results["detectors"][name]["width"]
            axes[0, column].plot(budgets, 100 * np.asarray(curve["success_rate"]), label=variant, **STYLE[variant])
            axes[1, column].plot(budgets, 100 * np.asarray(curve["auc"]), label=variant, **STYLE[variant])
        axes[0, column].set_title(family)
        axes[1, column].set_xlabel(rf"$\varepsilon$ ({norm}, range units)")
    axes[0, 0].set_ylabel("attack success (%)")
    axes[1, 0].set_ylabel("ROC-AUC under attack (%)")
    axes[0, 0].legend()
    figure.tight_layout()
    return figure


def pair_table(record, norm: str, first: str, second: str, budgets, title: str) -> Table:
    """One row per detector: 'first / second' (both in %) of its attack curve at each budget (range units)."""
    rows = []
    for name in _names(record):
        curve, width = record["results"]["curves"][name][norm], record["results"]["detectors"][name]["width"]
        cells = {round(e / width, 6): f"{100 * a:.0f} / {100 * b:.0f}"
                 for e, a, b in zip(curve["epsilons"], curve[first], curve[second])}
        rows.append([name] + [cells.get(round(e, 6), "-") for e in budgets])
    return Table(title, ["detector"] + [f"eps {e:g}" for e in budgets], rows, caption=caption(record))


def curve_table(record, norm: str) -> Table:
    """The attack curves of ``norm`` in numbers: success rate / ROC-AUC under attack per budget."""
    return pair_table(record, norm, "success_rate", "auc", record["results"]["budget"][norm],
                      f"{NORM_LABELS[norm]} attacks: success rate / ROC-AUC under attack (%)")


def direction_table(record) -> Table:
    """The L2 success rate split into false alarms / evasions, at the positive budgets."""
    return pair_table(record, "l2", "false_alarm_rate", "evasion_rate", record["results"]["budget"]["l2"][1:],
                      "L2 attacks: false alarms / evasions (%)")


def plot_certificates(record):
    """Certified accuracy and ROC-AUC against the L2 radius (lines), with the L2 attack's (open circles)."""
    import matplotlib.pyplot as plt

    results = record["results"]
    radii = np.asarray(results["budget"]["radii"])
    figure, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharex=True)
    for name, color in zip(_names(record, "certificates"), plt.cm.tab10.colors):
        result, attacked = results["certificates"][name], results["curves"][name]["l2"]
        for axis, certified, under_attack in ((axes[0], result["accuracy"], attacked["accuracy"]),
                                              (axes[1], result["auroc"], attacked["auc"])):
            axis.plot(radii, 100 * np.asarray(certified), color=color, label=name)
            axis.plot(results["budget"]["l2"], 100 * np.asarray(under_attack), color=color, linestyle="none",
                      marker="o", markerfacecolor="none")
    for axis, label in zip(axes, ("accuracy (%)", "ROC-AUC (%)")):
        axis.set(xlabel="L2 radius (range units)", ylabel=label, xlim=(0, radii.max()))
        axis.set_xscale("symlog", linthresh=radii[1])   # linear below the smallest positive radius, then logarithmic
    axes[0].legend(fontsize=8)
    figure.tight_layout()
    return figure


def certificate_table(record) -> Table:
    """Per certified detector: L, clean accuracy, median and 90% quantile radius, certified ROC-AUC."""
    rows = []
    for name in _names(record, "certificates"):
        c = record["results"]["certificates"][name]
        rows.append([name, f"{c['lipschitz']:.4g}", f"{100 * c['accuracy_clean']:.1f}", f"{c['median_radius']:.3g}",
                     f"{c['radius_90']:.3g}"] + [f"{100 * value:.1f}" for value in c["table_auroc"]])
    return Table("Certificates", ["detector", "L", "accuracy (%)", "median certified radius", "90% quantile"]
                 + [f"certified ROC-AUC at r = {r:g} (%)" for r in TABLE_RADII], rows, caption=caption(record))


def summary_table(record) -> Table:
    """The largest budgets in numbers: clean ROC-AUC, L2 false alarms and evasions, Linf success."""
    results = record["results"]
    l2_budget, linf_budget = results["budget"]["l2"][-1], results["budget"]["linf"][-1]
    rows = []
    for name in _names(record):
        curves = results["curves"][name]
        rows.append([name, f"{100 * results['detectors'][name]['clean_auc']:.1f}"]
                    + [f"{100 * value:.0f}" for value in (curves["l2"]["false_alarm_rate"][-1],
                                                           curves["l2"]["evasion_rate"][-1],
                                                           curves["linf"]["success_rate"][-1])])
    header = ["detector", "clean ROC-AUC (%)", f"L2 false alarms at eps {l2_budget:g} (%)",
              f"L2 evasions at eps {l2_budget:g} (%)", f"Linf success at eps {linf_budget:g} (%)"]
    return Table("At the largest budgets", header, rows, caption=caption(record))


def half_budget(record, name: str, norm: str = "l2"):
    """The smallest budget (range units) at which the attack flips half of the correctly classified images."""
    curve = record["results"]["curves"][name][norm]
    budgets = np.asarray(curve["epsilons"]) / record["results"]["detectors"][name]["width"]
    reached = np.flatnonzero(np.asarray(curve["success_rate"]) >= 0.5)
    return float(budgets[reached[0]]) if reached.size else None


def comparison(record):
    """Per family with both variants: clean ROC-AUC and the L2 budget that flips half the images (Markdown)."""
    from IPython.display import Markdown

    def budget_text(value):
        return f"{value:g}" if value is not None else f"more than {record['results']['budget']['l2'][-1]:g}"

    lines = []
    for family, variants in _families(record).items():
        if set(variants) != {"standard", "Lipschitz"}:
            continue
        standard, lipschitz = (record["results"]["detectors"][variants[v]] for v in ("standard", "Lipschitz"))
        lines.append(f"**{family}**: clean ROC-AUC {100 * standard['clean_auc']:.1f}% standard, "
                     f"{100 * lipschitz['clean_auc']:.1f}% Lipschitz; half of the correctly classified images "
                     f"are flipped within an L2 budget of {budget_text(half_budget(record, variants['standard']))} "
                     f"(standard) and {budget_text(half_budget(record, variants['Lipschitz']))} (Lipschitz) range "
                     f"units.")
    return Markdown("\n".join(f"* {line}" for line in lines))


def saved_run_note(record):
    """The budget, time and provenance of a saved run (Markdown)."""
    from IPython.display import Markdown

    b, results = record["results"]["budget"], record["results"]
    return Markdown(
        f"**Budget of the saved run.** {record['dataset']}, normal class {record['normal_class']}, profile "
        f"`{record['profile']}`, seed {record['seed']}: {b['train_size']} training images (AnoGAN "
        f"{b['anogan_train']}), "
        f"epochs scaled by {b['epochs_scale']:g}, {b['n_test']} test images for the clean ROC-AUC (AnoGAN "
        f"{b['anogan_test']}); {b['attacked']} normal and as many anomalous images attacked with {b['steps']} PGD "
        f"steps (AnoGAN {b['anogan_attacked']}, {b['anogan_steps']} steps); {results['seconds'] / 60:.0f} min in all. "
        f"Saved by adlip {record['adlip_version']} at commit `{record['git_commit']}`.")


def show_saved_run(record, spec, results_dir="results") -> None:
    """Display a saved run's note, tables and figures in the chapter's order, or say that there is none."""
    import matplotlib.pyplot as plt
    from IPython.display import Markdown, display

    if record is None:
        display(Markdown(f"*No saved {spec.dataset} results for profile `{spec.profile}`, normal class "
                         f"{spec.normal_class} and seed {spec.seed} in `{results_dir}`: run the command above to "
                         f"make them.*"))
        return
    display(saved_run_note(record), detector_table(record))
    for draw, options in ((plot_curves, ("l2",)), (plot_curves, ("linf",)), (plot_certificates, ())):
        draw(record, *options)
        plt.show()   # each figure in its place among the tables, not all at the end of the cell
    display(summary_table(record), comparison(record))
