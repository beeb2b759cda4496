"""Tables beyond the thesis's experiments: the classical baselines per normal class (the
baselines chapter) and every detector side by side, companions included (the analysis chapter).

Their records have no thesis values to sit beside, so they live apart from :mod:`adlip.tables.thesis`.
"""
from __future__ import annotations

import statistics
from collections import defaultdict

from adlip import reference as ref
from adlip.tables.captions import budget_caption
from adlip.tables.core import (
    BASELINE_LABELS,
    DATASET_LABELS,
    MISSING,
    Table,
    _datasets,
    _format_auc,
    _lipschitz_key,
    aggregate_auc,
    class_label,
    is_failed,
    label,
    select_records,
)


def baselines_table(records, datasets=None, profile=None) -> Table:
    """ROC-AUC (%) of the classical baselines per normal class, with Ruff et al.'s one-class Deep SVDD
    (published) as a labelled reference column."""
    chosen = select_records(records, "baselines", profile)
    cells = aggregate_auc(chosen)
    algorithms = [a for a in BASELINE_LABELS if any(r["algorithm"] == a for r in chosen)]
    rows = []
    for dataset in _datasets(chosen, datasets):
        for normal_class in range(10):
            row = [DATASET_LABELS.get(dataset, dataset), class_label(dataset, normal_class)]
            row += [_format_auc(cells.get((dataset, a, None, normal_class))) for a in algorithms]
            row.append(f"{ref.deep_svdd_paper_auc(dataset, normal_class):.1f}")
            rows.append(row)
        means = [[cells[k].mean for k in cells if k[0] == dataset and k[1] == a] for a in algorithms]
        rows.append([DATASET_LABELS.get(dataset, dataset), "mean",
                     *[f"{statistics.fmean(m):.1f}" + ("" if len(m) == 10 else f" ({len(m)}/10)") if m else MISSING
                       for m in means],
                     f"{statistics.fmean(ref.deep_svdd_paper_auc(dataset, c) for c in range(10)):.1f}"])
    header = ["Data set", "Normal class", *[f"{BASELINE_LABELS[a]} adlip" for a in algorithms],
              "Deep SVDD OC (Ruff et al., published)"]
    description = ("Classical baselines on the same one-vs-rest splits and GCN preprocessing (Isolation Forest on "
                   "pixels; OC-SVM with nu = 0.1 and gamma = 'scale' and an exact Gaussian KDE with a bandwidth "
                   "chosen by held-out likelihood, both on PCA features keeping 95% of the variance).")
    return Table("Classical baselines: ROC-AUC (%) per normal class", header, rows,
                 f"{description} {budget_caption(chosen, datasets)}")


def comparison_table(records, datasets=None) -> Table:
    """Every detector (and variant) in the records: mean ROC-AUC over normal classes and mean lower bound.

    One row per (algorithm, Lipschitz K) and one column pair per data set; a cell averages the per-class
    mean AUCs (over seeds) and says how many classes it covers. Records of different profiles are kept
    apart (one row each), so budgets are never mixed.
    """
    ok = [r for r in records if not is_failed(r)]
    datasets = _datasets(ok, datasets)
    groups = defaultdict(list)
    for record in ok:
        groups[(record["algorithm"], _lipschitz_key(record), record.get("profile"))].append(record)
    rows = []
    for (algorithm, k, profile), runs in sorted(groups.items(), key=lambda item: (str(item[0][0]),
                                                                                  item[0][1] or 0, str(item[0][2]))):
        row = [label(algorithm), "standard" if k is None else f"K = {k:g}", str(profile)]
        for dataset in datasets:
            aucs = aggregate_auc([r for r in runs if r["dataset"] == dataset])
            bounds = [r["lip_lower_bound"] for r in runs if r["dataset"] == dataset and r.get("lip_lower_bound") is not None]
            if not aucs:
                row += [MISSING, MISSING]
                continue
            mean_auc = statistics.fmean(s.mean for s in aucs.values())
            row.append(f"{mean_auc:.1f} ({len(aucs)} class{'es' if len(aucs) != 1 else ''})")
            row.append(f"{statistics.fmean(bounds):.3f}" if bounds else MISSING)
        rows.append(row)
    header = ["Detector", "Variant", "Profile"]
    for dataset in datasets:
        header += [f"{DATASET_LABELS.get(dataset, dataset)} mean AUC (%)", f"{DATASET_LABELS.get(dataset, dataset)} mean bound"]
    return Table("Every detector, one-vs-rest", header, rows,
                 "Mean over normal classes of the per-class ROC-AUC (mean over seeds) and mean of the runs' "
                 "random-pair Lipschitz lower bounds (none for the classical baselines). " + budget_caption(ok, datasets))
