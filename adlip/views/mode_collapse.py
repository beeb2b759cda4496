"""The mode-collapse chapter's table, figures and statements, from the records of :mod:`adlip.studies.mode_collapse`.

Every function takes the list of records :func:`adlip.studies.mode_collapse.records` returns (one
per variant and seed); rows and panels follow the study's order of variants. Several seeds of a
variant are summarised by their mean and standard deviation, and the samples and curves shown are
the first seed's. matplotlib and IPython are imported when a function needs them.
"""
from __future__ import annotations

import textwrap

import numpy as np

from adlip.studies.mode_collapse import VARIANTS, ModeCollapseBudget
from adlip.tables.core import Table

MEASURES = ("diversity_ratio", "normal_share", "coverage")
MEASURE_LABELS = {"diversity_ratio": "diversity ratio", "normal_share": "normal-class share", "coverage": "coverage"}


def by_variant(records) -> dict:
    """{variant: its records, by seed}, variants in the study's order."""
    found = {}
    for variant in VARIANTS:
        chosen = sorted((r for r in records if r["variant"] == variant), key=lambda r: r["seed"])
        if chosen:
            found[variant] = chosen
    unknown = {r["variant"] for r in records} - set(VARIANTS)
    if unknown:
        raise ValueError(f"records of unknown variants {sorted(unknown)}; known: {list(VARIANTS)}")
    if not found:
        raise ValueError("no mode-collapse records to render")
    return found


def _cell(values, digits: int = 2, percent: bool = False) -> str:
    values = np.asarray(values, dtype=float) * (100.0 if percent else 1.0)
    text = f"{values.mean():.{digits}f}"
    if len(values) > 1:
        text += f" ± {values.std(ddof=1):.{digits}f}"
    return text + ("%" if percent else "")


def _collapsed_cell(runs) -> str:
    flags = [bool(r["final"]["collapsed"]) for r in runs]
    if len(flags) == 1:
        return "yes" if flags[0] else "no"
    return f"{sum(flags)} of {len(flags)} seeds"


def caption(records) -> str:
    """The budget of the records (their profile's), the classifier's accuracy and the measures' yardsticks."""
    first = records[0]
    budget = ModeCollapseBudget(**{key: tuple(value) if isinstance(value, list) else value
                                   for key, value in first["budget"].items()})
    accuracy = np.mean([r["classifier"]["test_accuracy"] for r in records])
    return (budget.caption() + f" The classifier's test accuracy is {100 * accuracy:.1f}% on the ten classes. "
            f"Collapsed: diversity ratio below {first['collapse_threshold']:g} (AnoGAN's rule). Samples as varied "
            f"as the data give a diversity ratio of about 1 and a coverage of about {first['expected_coverage']:.2f} "
            f"(its expectation for samples drawn from the data's own distribution).")


def summary_table(records) -> Table:
    """Per variant: K, collapsed or not, and the three measures of the final generator."""
    rows = []
    for variant, runs in by_variant(records).items():
        k = runs[0]["lipschitz"]
        rows.append([VARIANTS[variant].label, "-" if k is None else f"{k:g}", _collapsed_cell(runs),
                     _cell([r["final"]["diversity_ratio"] for r in runs], 3),
                     _cell([r["final"]["normal_share"] for r in runs], 1, percent=True),
                     _cell([r["final"]["coverage"] for r in runs], 1, percent=True),
                     f"{np.mean([r['train_seconds'] for r in runs]):.0f}"])
    return Table("Mode collapse of the GAN variants (final generators)",
                 ["variant", "K", "collapsed?", "diversity ratio", "normal-class share", "coverage", "training (s)"],
                 rows, caption=caption(records))


def _mosaic(grey_levels, columns: int = 4, gap: int = 2) -> np.ndarray:
    """Images (N, H, W) of grey levels 0..255 tiled into one array, ``columns`` per row, with white gaps."""
    images = np.asarray(grey_levels, dtype=float) / 255.0
    n, height, width = images.shape[:3]
    rows = -(-n // columns)
    mosaic = np.ones((rows * (height + gap) - gap, columns * (width + gap) - gap) + images.shape[3:])
    for index, image in enumerate(images):
        row, column = divmod(index, columns)
        top, left = row * (height + gap), column * (width + gap)
        mosaic[top:top + height, left:left + width] = image
    return mosaic


def samples_figure(records):
    """One panel per variant: its first seed's 16 samples (the same latent vectors for every variant)."""
    import matplotlib.pyplot as plt

    runs = by_variant(records)
    fig, axes = plt.subplots(1, len(runs), figsize=(2.6 * len(runs), 3.5), squeeze=False)
    for ax, (variant, chosen) in zip(axes[0], runs.items()):
        record = chosen[0]
        ax.imshow(_mosaic(record["samples"]["grey_levels"]), cmap="gray", vmin=0.0, vmax=1.0)
        title = "\n".join(textwrap.wrap(VARIANTS[variant].label, 24))
        ax.set_title(f"{title}\ndiversity ratio {record['final']['diversity_ratio']:.2f}", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def epochs_figure(records, measures=MEASURES):
    """The measures per epoch (first seed of each variant), the diversity ratio's collapse line dashed."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    runs = by_variant(records)
    fig, axes = plt.subplots(1, len(measures), figsize=(4.0 * len(measures), 3.6), squeeze=False)
    for ax, measure in zip(axes[0], measures):
        highest, epochs = 1.0, 1
        for variant, chosen in runs.items():
            values = chosen[0]["per_epoch"][measure]
            highest, epochs = max(highest, max(values)), max(epochs, len(values))
            ax.plot(np.arange(1, len(values) + 1), values, marker="o", ms=3, label=VARIANTS[variant].label)
        if measure == "diversity_ratio":
            ax.axhline(chosen[0]["collapse_threshold"], color="grey", ls="--", lw=1, label="collapse threshold")
        ax.set(xlabel="epoch", title=MEASURE_LABELS[measure], ylim=(0, 1.05 * highest), xlim=(0.5, epochs + 0.5))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.16, 1, 1))
    return fig


def statements(records):
    """One computed sentence per variant: collapsed or not, and its final measures."""
    from IPython.display import Markdown

    lines = []
    for variant, runs in by_variant(records).items():
        verdict = _collapsed_cell(runs)
        verdict = {"yes": "collapsed", "no": "did not collapse"}.get(verdict, f"collapsed in {verdict}")
        lines.append(f"**{VARIANTS[variant].label}** {verdict}: diversity ratio "
                     f"{_cell([r['final']['diversity_ratio'] for r in runs], 3)}, "
                     f"{_cell([r['final']['normal_share'] for r in runs], 0, percent=True)} of its samples "
                     f"classified as the normal class, coverage "
                     f"{_cell([r['final']['coverage'] for r in runs], 0, percent=True)}.")
    return Markdown("\n".join(f"* {line}" for line in lines))


def _collapsed_everywhere(runs) -> bool:
    return all(bool(r["final"]["collapsed"]) for r in runs)


def thesis_verdict(records):
    """What the records say about the thesis's explanation (missing batch norm), in one paragraph.

    Computed from which variants collapsed: the thesis's Lipschitz DCGAN, and the Lipschitz generator
    trained against the standard, batch-normalised discriminator (the variant that restores batch
    norm where the thesis's Lipschitz GAN lost it), with GroupSort2 and the WGAN as further checks.
    """
    from IPython.display import Markdown

    runs = by_variant(records)
    needed = ("lipschitz", "lipschitz-generator")
    if any(name not in runs for name in needed):
        return Markdown("The records lack the variants that test the thesis's explanation.")
    collapsed = {name: _collapsed_everywhere(variant_runs) for name, variant_runs in runs.items()}
    if not collapsed["lipschitz"]:
        return Markdown("The thesis's Lipschitz DCGAN did not collapse at this budget, so these runs cannot "
                        "test the thesis's explanation of its collapse.")
    still = [f"*{VARIANTS[name].label}*" for name in ("lipschitz-groupsort2", "wgan") if collapsed.get(name)]
    if collapsed["lipschitz-generator"]:
        text = ("The thesis's Lipschitz DCGAN collapsed, and so did its Lipschitz generator trained against the "
                "standard discriminator *with* batch normalization. Giving the discriminator its batch norm back "
                "does not prevent the collapse, so the missing batch normalization cannot be the whole explanation.")
        if still:
            text += (f" It also happens in {' and in '.join(still)}: what these variants share is the "
                     "K-Lipschitz generator itself.")
    else:
        text = ("The thesis's Lipschitz DCGAN collapsed, but its Lipschitz generator trained against the standard, "
                "batch-normalised discriminator did not: at this budget the runs agree with the thesis that the "
                "discriminator's missing batch normalization is what lets the generator collapse.")
    if "standard-no-bn" in runs:
        text += " " + _batch_norm_sentence(runs, collapsed)
    return Markdown(text)


def _final_mean(runs, measure: str) -> float:
    return float(np.mean([r["final"][measure] for r in runs]))


def _batch_norm_sentence(runs: dict, collapsed: dict) -> str:
    """What the standard DCGAN without batch norm adds to the verdict, with its measures beside the
    standard DCGAN's (what batch norm buys) and the thesis's Lipschitz DCGAN's (what a collapse looks like)."""
    plain = runs["standard-no-bn"]
    if collapsed["standard-no-bn"]:
        return ("The thesis's standard DCGAN with its batch norm left out collapsed as well (diversity ratio "
                f"{_final_mean(plain, 'diversity_ratio'):.3f}), so for these networks batch normalization does "
                "matter: without it even the unconstrained GAN loses its modes.")
    text = ("The thesis's standard DCGAN with its batch norm left out did not collapse: diversity ratio "
            f"{_final_mean(plain, 'diversity_ratio'):.2f}")
    if "lipschitz" in runs:
        text += f" against the Lipschitz DCGAN's {_final_mean(runs['lipschitz'], 'diversity_ratio'):.3f}"
    text += "."
    if "standard" in runs:
        ratio, coverage = (_final_mean(runs["standard"], key) for key in ("diversity_ratio", "coverage"))
        plain_coverage = _final_mean(plain, "coverage")
        if plain_coverage < coverage / 2 or _final_mean(plain, "diversity_ratio") < ratio / 2:
            text += (f" It did lose much of the standard DCGAN's variety (diversity ratio {ratio:.2f}, coverage "
                     f"{100 * coverage:.0f}% with batch norm; coverage {100 * plain_coverage:.0f}% without), so "
                     "batch normalization helps a GAN keep its modes;")
        else:
            text += " It kept about the standard DCGAN's variety, so batch normalization is not what keeps its modes;"
        lipschitz_generators = [name for name in runs if not name.startswith("standard")]
        shown_by = ("every variant with the K-Lipschitz generator" if all(collapsed[n] for n in lipschitz_generators)
                    else "the thesis's Lipschitz DCGAN")
        text += f" but removing it does not by itself bring on the collapse to a single image that {shown_by} shows."
    return text
