"""The companion chapters' tables and verdicts (chapters 12 to 15), rendered as Markdown for a cell.

Each function formats numbers the chapter's study computed (its records, runs or measurements) and
returns an IPython ``Markdown`` object, as :func:`adlip.tables.markdown_table` does; the verdicts are
sentences computed from the run, with nothing typed in by hand but the paper's numbers.
"""
from __future__ import annotations

import numpy as np

from adlip.data import CLASS_NAMES
from adlip.detectors.vae import SCORE_LABELS, SCORES
from adlip.reference.hkr import PAPER_MNIST_TABLE
from adlip.studies import hkr as hkr_study
from adlip.studies import regsvdd as regsvdd_study
from adlip.studies import vae as vae_study
from adlip.studies.realnvp import VARIANTS as REALNVP_VARIANTS
from adlip.tables import markdown_table as _table


DATASET_NAMES = {"mnist": "MNIST", "cifar10": "CIFAR-10"}


def _markdown(text: str):
    from IPython.display import Markdown

    return Markdown(text)


def _verdict(lines, title="**What this run says.**"):
    return _markdown(title + "\n\n" + "\n".join(lines))


# -- chapter 12: regularized Deep SVDD ----------------------------------------------------------------

def regsvdd_equations(values: dict):
    """The chapter's equations on made-up numbers (:func:`adlip.studies.regsvdd.equation_values`)."""
    return _table(["quantity", "value"], [
        ["random-label loss, all logits 0", f"{values['random_label_loss']:.4f} (log 2 = {np.log(2):.4f})"],
        ["minibatch variance of N(0, 1) embeddings", f"{values['variance']:.3f}"],
        ["variance hinge at d = 1.5", f"{values['hinge']:.3f}"],
        ["adaptive weight after one step from c = 0, L_svdd = 2, L_reg = 0.5", f"{values['weight']:.3f}"],
    ])


def variance_summary(curves: dict, demo_auc: dict):
    """Per network and model: the embedding variance before, at its smallest and after training, and the AUC."""
    rows = []
    for network, by_model in curves.items():
        for model, curve in by_model.items():
            start, end = curve["variance"][0], curve["variance"][-1]
            rows.append([network, model, f"{start:.3g}", f"{min(curve['variance']):.3g}", f"{end:.3g}",
                         f"{end / start:.3g}", f"{100 * demo_auc[network, model]:.1f}"])
    return _table(["network", "model", "v before", "smallest v", "v after", "after / before", "AUC (%)"], rows)


def collapse_verdict(curves: dict, demo_auc: dict):
    """Each model's final variance and AUC against those of the biased model without a regularizer."""
    lines = []
    for network, by_model in curves.items():
        ratio = {model: curve["variance"][-1] / curve["variance"][0] for model, curve in by_model.items()}
        plain, plain_auc = ratio["D. SVDD w/ bias"], 100 * demo_auc[network, "D. SVDD w/ bias"]
        for model, value in ratio.items():
            if model != "D. SVDD w/ bias":
                lines.append(f"* {network}, {model}: final variance {value / plain:.2g} times that of D. SVDD w/ bias "
                             f"({100 * value:.2g} % of its initial value, against {100 * plain:.2g} %); AUC "
                             f"{100 * demo_auc[network, model]:.1f} against {plain_auc:.1f}.")
    return _verdict(lines, "**What these runs say.**")


def regsvdd_comparison(results: list):
    """Our mean one-vs-rest AUC per model and network beside the reference numbers."""
    return _table(["model", "network", "AUC, ours (mean)", "ours per class", "Ruff et al. MNIST (reference)",
                   "paper CIFAR-10 (reference)"], regsvdd_study.comparison_rows(results))


def auc_verdict(results: list, lipschitz: float):
    """The best mean AUC and the spread of the models, per network, beside the paper's spread."""
    lines = []
    for constant in (None, lipschitz):
        mine = {}
        for r in results:
            if r["lipschitz"] == constant:
                mine.setdefault(r["model"], []).append(r["auc"])
        means = {model: 100 * np.mean(aucs) for model, aucs in mine.items()}
        best = max(means, key=means.get)
        spread = max(means.values()) - min(means.values())
        network = "standard" if constant is None else f"Lipschitz (K = {constant:g})"
        lines.append(f"* {network}: best mean AUC {means[best]:.1f} ({best}); the {len(means)} models span "
                     f"{spread:.1f} points.")
    lines.append("* The paper's four CIFAR-10 means span 1.0 point (67.6 to 68.6).")
    return _verdict(lines)


def bound_table(bounds: dict, lipschitz: float):
    """Lower bounds of one network's constant ({estimator: value}) beside its guaranteed K."""
    return _table(["bound", "value", "K"], [[name, f"{value:.3f}", f"{lipschitz:g}"] for name, value in bounds.items()])


# -- chapter 13: one-class HKR ------------------------------------------------------------------------

def far_gradient_table(norms: dict):
    """The median gradient norm of each toy method's function far from the data, per toy set."""
    methods = list(next(iter(norms.values())))
    return _table(["data set", *methods], [[name, *[f"{by_method[m]:.2f}" for m in methods]]
                                          for name, by_method in norms.items()])


def mnist_table(runs: dict):
    """Per class: our ROC-AUC with each activation beside the paper's Table 1, then the means."""
    classes = [r["normal_class"] for r in next(iter(runs.values()))]

    def paper(key, k, digits):
        return f"{PAPER_MNIST_TABLE[key][k]:.{digits}f}"

    def paper_mean(key, digits):
        return f"{np.mean([PAPER_MNIST_TABLE[key][k] for k in classes]):.{digits}f}"

    columns = (("hkr_auc", 2), ("deepsvdd_auc", 1), ("ocsvm_auc", 1), ("iforest_auc", 1))
    rows = [[k, *[f"{100 * r['auc']:.2f}" for r in per_activation], *[paper(key, k, d) for key, d in columns]]
            for k, *per_activation in zip(classes, *runs.values())]
    rows.append(["mean", *[f"{100 * np.mean([r['auc'] for r in run]):.2f}" for run in runs.values()],
                 *[paper_mean(key, d) for key, d in columns]])
    return _table(["class", *[f"ours, {name}" for name in runs], "paper: HKR", "paper: Deep SVDD",
                   "paper: OC-SVM", "paper: IF"], rows)


def hkr_bounds_table(runs: dict):
    """Per activation: the largest Lipschitz lower bounds over the classes and the mean training time."""
    return _table(["activation", "random pairs (max over classes)", "gradient ascent (max over classes)",
                   "training seconds (mean)"],
                  [[name, f"{max(r['lip_lower_bound'] for r in run):.3f}",
                    f"{max(r['lip_gradient_ascent'] for r in run):.4f}",
                    f"{np.mean([r['train_seconds'] for r in run]):.0f}"] for name, run in runs.items()])


def hkr_training_table(runs: dict):
    """Per activation: f on the last epoch's negatives, the Wasserstein estimate, other digits with f > 0."""
    return _table(["activation", "mean f on the last epoch's negatives", "Wasserstein estimate, last epoch",
                   "other digits with f > 0"],
                  [[name, f"{hkr_study.last_epoch_mean(run, 'f_negative'):.2f}",
                    f"{hkr_study.last_epoch_mean(run, 'wasserstein'):.2f}",
                    f"{100 * np.mean([hkr_study.share_above(r, 'test anomalous') for r in run]):.0f}%"]
                   for name, run in runs.items()])


def synthesis_distances(distances: dict) -> str:
    """:func:`adlip.studies.hkr.synthesis_distances` in one line."""
    return (f"L2 norm of the starting noise: {distances['noise']:.1f}; distance the walks moved it: "
            f"median {distances['median']:.1f}, largest {distances['largest']:.1f}")


def certified_table(radii, mean_curves: dict):
    """The mean certified ROC-AUC curves (percent), one row per activation."""
    return _table(["activation"] + [f"radius {eps:g}" for eps in radii],
                  [[name] + [f"{v:.1f}" for v in curve] for name, curve in mean_curves.items()])


# -- chapter 14: the Lipschitz VAE --------------------------------------------------------------------

def dark_pixels_table(fractions: dict):
    """The share of nearly black pixels per set of test images ({name: fraction})."""
    return _table(["test images", "pixels darker than 0.05"],
                  [[name, f"{100 * fraction:.0f} %"] for name, fraction in fractions.items()])


def vae_comparison_table(rows: list):
    """:func:`adlip.studies.vae.comparison_rows` as a table: ours and the paper's, per metric."""
    headers = ["train vs. outliers", "model", "score"]
    for metric in ("AUROC", "AUPRC", "FPR80"):
        headers += [f"{metric} ours", f"{metric} paper"]
    body = []
    for row in rows:
        cells = [vae_study.describe_pair(row["pair"]), vae_study.MODEL_NAMES[row["model"]], row["score"]]
        for metric in ("auroc", "auprc", "fpr80"):
            paper = row[f"{metric} (paper)"]
            cells += [f"{row[f'{metric} (ours)']:.1f}", "" if paper is None else f"{paper:.2f}"]
        body.append(cells)
    return _table(headers, body)


def vae_verdict(results: dict):
    """Sentences computed from this run's numbers (nothing here is typed in by hand)."""
    def auroc(model, pair, score):
        return 100 * results[(model, pair)]["metrics"][score]["auroc"]

    fashion = "fashion_mnist_vs_mnist"
    likelihood = auroc("vanilla", fashion, "log_likelihood")
    hole = {model: auroc(model, fashion, "hole") for model in vae_study.MODELS}
    return _verdict([
        f"* Trained on Fashion-MNIST, the vanilla VAE's likelihood gives AUROC {likelihood:.1f} on MNIST "
        f"outliers ({'below' if likelihood < 50 else 'above'} chance; the paper: 54.03).",
        f"* The hole indicator reaches {hole['lipschitz']:.1f} with M = 5, {hole['lipschitz-1']:.1f} with "
        f"M = 1 and {hole['vanilla']:.1f} without a constraint (the paper: 99.69 with M = 5).",
        f"* In the easy direction (MNIST vs. Fashion-MNIST) the likelihood already gives "
        f"{auroc('vanilla', 'mnist_vs_fashion_mnist', 'log_likelihood'):.1f}."])


def encoder_table(rows: list):
    """:func:`adlip.studies.vae.encoder_constants` as a table."""
    return _table(["model", "guaranteed M", "measured lower bound", "largest code distance",
                   "its images' largest distance"],
                  [[vae_study.MODEL_NAMES[r["model"]], "none" if r["constant"] is None else f"{r['constant']:g}",
                    f"{r['lower_bound']:.2f}", f"{r['code_spread']:.1f}", f"{r['image_spread']:.1f}"] for r in rows])


def vae_one_vs_rest_table(per_class: dict):
    """One-vs-rest AUROC of every score, per normal class."""
    return _table(["normal class", "training images"] + [f"AUROC {SCORE_LABELS[s]}" for s in SCORES],
                  [[c, r["n_train"]] + [f"{100 * r['metrics'][s]['auroc']:.1f}" for s in SCORES]
                   for c, r in per_class.items()])


def ablation_verdict(rows: list, decoder_constants):
    """The hole indicator's AUROC at the smallest and largest decoder constant, per outlier set."""
    hole = {r["outlier"]: {} for r in rows}
    for r in rows:
        if r["score"] == "hole":
            hole[r["outlier"]][r["decoder_lipschitz"]] = 100 * r["auroc"]
    low, high = min(decoder_constants), max(decoder_constants)
    falls = [name for name, by_constant in hole.items() if by_constant[low] < by_constant[high]]
    lines = [f"* {name}: hole indicator AUROC {by_constant[high]:.1f} at decoder constant {high:g}, "
             f"{by_constant[low]:.1f} at {low:g}." for name, by_constant in hole.items()]
    lines.append(f"* The AUROC falls with the decoder's constant for {len(falls)} of {len(hole)} outlier sets "
                 f"({', '.join(falls) if falls else 'none'}); the paper reports the hole indicator degrading as the "
                 f"decoder's constant decreases.")
    return _verdict(lines)


# -- chapter 15: robust Real NVP ----------------------------------------------------------------------

def trimmed_gradient_table(log_density, gradient):
    """Made-up log-densities and the gradient of the trimmed loss with respect to each."""
    return _table(["log-density", *np.round(log_density, 2)],
                  [["gradient of the trimmed loss", *np.round(gradient, 3)]])


def moons_table(rows: list):
    """:func:`adlip.studies.realnvp.moons_scores` as a table."""
    return _table(["anomalies", "variant", "test ROC-AUC", "training ROC-AUC", "seconds"],
                  [[r["kind"], r["variant"], f"{r['test_auc']:.3f}", f"{r['train_auc']:.3f}", f"{r['seconds']:.0f}"]
                   for r in rows])


def coupling_table(rows: list, lipschitz: float):
    """:func:`adlip.studies.realnvp.coupling_bounds` beside the guaranteed K."""
    return _table(["coupling", "random pairs", "gradient ascent", "product of spectral norms", "K"],
                  [[index, f"{r['pairs']:.3f}", f"{r['ascent']:.3f}", f"{r['upper']:.3f}", lipschitz]
                   for index, r in enumerate(rows)])


def contaminated_table(dataset: str, records: list, budget, reference=None):
    """One row per (class, kind) of ``budget``; our ROC-AUC per variant, then the paper's where it has one."""
    if not records:
        return _markdown(f"profile {budget.profile!r} runs no {DATASET_NAMES.get(dataset, dataset)} classes")
    rows = []
    for normal_class in sorted({r["normal_class"] for r in records}):
        for kind in budget.kinds:
            ours = {r["variant"]: r["auc"] for r in records if (r["normal_class"], r["kind"]) == (normal_class, kind)}
            name = CLASS_NAMES[dataset][normal_class]
            row = [name, kind] + [f"{ours[v]:.3f}" for v in REALNVP_VARIANTS]
            if reference is not None:
                paper = reference[kind][name]
                row += [f"{paper['RealNVP'][0]:.3f}", f"{paper['RobustRealNVP'][0]:.3f}"]
            rows.append(row)
    headers = ["normal class", "anomalies", *REALNVP_VARIANTS]
    if reference is not None:
        headers += ["paper: RealNVP", "paper: RobustRealNVP"]
    return _table(headers, rows)


def contaminated_means(records_by_dataset: dict, budget, reference: dict):
    """Mean ROC-AUC per variant over the classes run, per data set and kind of ``budget``; the paper's
    CIFAR-10 means over the same classes."""
    rows = []
    for dataset, records in records_by_dataset.items():
        for kind in budget.kinds:
            chosen = [r for r in records if r["kind"] == kind]
            if not chosen:
                continue
            means = [np.mean([r["auc"] for r in chosen if r["variant"] == v]) for v in REALNVP_VARIANTS]
            row = [dataset, kind, len({r["normal_class"] for r in chosen}), *[f"{m:.3f}" for m in means]]
            if dataset == "cifar10":
                names = [CLASS_NAMES[dataset][c] for c in {r["normal_class"] for r in chosen}]
                row += [f"{np.mean([reference[kind][n][v][0] for n in names]):.3f}"
                        for v in ("RealNVP", "RobustRealNVP")]
            else:
                row += ["-", "-"]
            rows.append(row)
    return _table(["data set", "anomalies", "classes", *REALNVP_VARIANTS, "paper: RealNVP", "paper: RobustRealNVP"],
                  rows)
