"""Result records -> tables in the thesis's layout, with the thesis's numbers beside ours.

Every table puts, for each algorithm, three columns side by side: ``adlip`` (aggregated from
result records, i.e. produced by code), ``thesis`` (published reference values from
:mod:`adlip.reference`) and ``Δ`` (adlip minus thesis). Aggregation follows the thesis
(section 5): ROC-AUC in percent as mean ± population standard deviation over seeds, the
Lipschitz lower bound as the maximum over seeds together with the sigma of the run that gave
it. Runs with status ``"failed"`` are left out and counted in the caption; cells without runs
show ``–``.

Tables are :class:`Table` objects: ``to_markdown()`` gives a Markdown string, and notebooks
display them directly (``_repr_markdown_`` and ``_repr_html_``). The numbers behind them are
available from :func:`aggregate_auc`, :func:`aggregate_bound`, :func:`selection_scores` and
:func:`exp2_summaries`. This module does not import TensorFlow.

The package is split by concern, and every public name is re-exported here (use ``adlip.tables.X``):
:mod:`~adlip.tables.core` holds the :class:`Table` type, record selection, aggregation and cell
formatting; :mod:`~adlip.tables.captions` the budget captions; :mod:`~adlip.tables.thesis` the
tables of the thesis's experiments 1 and 2 (and of experiment 1's Deep SVDDs without pretraining);
:mod:`~adlip.tables.companions` the classical baselines' table and the comparison of every detector.
"""
from adlip.tables.captions import budget_caption, thesis_budget_caption
from adlip.tables.companions import baselines_table, comparison_table
from adlip.tables.core import (
    ALGORITHM_LABELS,
    BASELINE_LABELS,
    COMPANION_LABELS,
    DATASET_LABELS,
    MISSING,
    AUCStats,
    BoundStats,
    Table,
    aggregate_auc,
    aggregate_bound,
    class_label,
    is_failed,
    label,
    markdown_table,
    run_key,
    select_records,
    to_markdown,
)
from adlip.tables.thesis import (
    PRETRAINING_ALGORITHMS,
    SUMMARY_LABELS,
    Summary,
    chosen_constants,
    chosen_constants_table,
    exp1_auc_table,
    exp1_bound_table,
    exp2_auc_table,
    exp2_bound_table,
    exp2_summaries,
    exp2_summary_table,
    pretraining_gaps,
    pretraining_table,
    relative_change,
    robustness_ratio,
    selection_scores,
    selection_table,
    thesis_selection_scores,
)

__all__ = [
    "ALGORITHM_LABELS", "BASELINE_LABELS", "COMPANION_LABELS", "DATASET_LABELS", "MISSING", "PRETRAINING_ALGORITHMS",
    "SUMMARY_LABELS",
    "AUCStats", "BoundStats", "Summary", "Table", "aggregate_auc", "aggregate_bound", "baselines_table",
    "budget_caption", "chosen_constants", "chosen_constants_table", "class_label", "comparison_table",
    "exp1_auc_table", "exp1_bound_table", "exp2_auc_table", "exp2_bound_table", "exp2_summaries",
    "exp2_summary_table", "is_failed", "label", "markdown_table", "pretraining_gaps", "pretraining_table",
    "relative_change", "robustness_ratio", "run_key", "select_records", "selection_scores", "selection_table",
    "thesis_budget_caption", "thesis_selection_scores", "to_markdown",
]
