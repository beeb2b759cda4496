"""How long runs should take, read off the times that finished records measured.

Every record carries ``train_seconds``, ``score_seconds`` and ``lip_seconds`` (wall time in its
worker). Before a long sweep, :func:`expected_seconds` prices the runs still to do at the median
of the finished runs of the same kind (profile, data set, algorithm, standard or Lipschitz, extra
detector options), so ``adlip sweep --dry-run`` can say how many hours the rest of a grid is on the
machine that made those records. A kind with no finished run is counted, not guessed.

Run times differ several-fold between processors (an AVX-512 CPU trains these networks in well
under the time of an AVX2 one), so when the records of a kind include some made on the processor
that asks, only those price it.
"""
from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass

TIME_FIELDS = ("train_seconds", "score_seconds", "lip_seconds")


def run_seconds(record: dict) -> float | None:
    """Wall seconds one finished run took (training, scoring and the bound), or None if unknown."""
    if record.get("status", "ok") != "ok" or record.get("train_seconds") is None:
        return None
    return float(sum(record.get(name) or 0.0 for name in TIME_FIELDS))


def machine(record: dict) -> str:
    """The kind of machine a record was made on, e.g. "x86_64 (AMD EPYC, avx512_bf16), 2 cores"."""
    cores = (record.get("threads") or {}).get("cpu_count")
    processor = record.get("cpu") or {}
    about = [part for part in (processor.get("model"), (processor.get("features") or [None])[-1]) if part]
    return (f"{record.get('machine', 'unknown')}" + (f" ({', '.join(about)})" if about else "")
            + (f", {cores} cores" if cores else ""))


def same_processor(record: dict, processor: dict | None) -> bool:
    """Whether ``record`` was made on a processor of the model and vector features of ``processor``."""
    made_on = record.get("cpu") or {}
    return bool(processor) and made_on.get("model") == processor.get("model") \
        and made_on.get("features") == processor.get("features")


def kind(run) -> tuple:
    """(profile, data set, algorithm, Lipschitz or not) of a record (dict) or a run configuration,
    followed by the run's extra detector options where it has any: an option can change the cost
    many-fold (AnoGAN with ``orthogonalization="bjorck"`` trains about 58 times as slowly as with
    the profiles' spectral normalisation), so runs with other options are another kind."""
    if isinstance(run, dict):
        get, options = run.get, ((run.get("config") or {}).get("options") or {}).items()
    else:
        get, options = (lambda name: getattr(run, name)), run.options
    basic = (get("profile"), get("dataset"), get("algorithm"), get("lipschitz") is not None)
    return basic + tuple(sorted((str(name), repr(value)) for name, value in options))


@dataclass(frozen=True)
class Estimate:
    """What the runs still to do should cost one worker, and what the figure rests on."""

    seconds: float            # of the runs whose kind has a finished record
    priced: int               # runs priced
    unpriced: int             # runs of a kind no finished record measured
    basis: int                # finished records the medians come from
    machines: tuple           # where those records were made (see :func:`machine`)

    def describe(self, workers: int = 1) -> str:
        """One sentence: hours of one worker, hours with ``workers`` in parallel, and its basis."""
        if not self.priced:
            return (f"no finished record of the same kind to price the {self.unpriced} runs by; "
                    "run one of each kind first")
        hours = self.seconds / 3600
        text = (f"about {hours:.1f} h of one worker for {self.priced} runs"
                + (f" (about {hours / workers:.1f} h with {workers} workers)" if workers > 1 else "")
                + f", at the median time of {self.basis} finished runs of the same kind"
                + (f" made on {'; '.join(self.machines)}" if self.machines else ""))
        if self.unpriced:
            text += f"; {self.unpriced} runs of kinds not yet measured are not counted"
        return text


def expected_seconds(configs, records, processor: dict | None = None) -> Estimate:
    """Price ``configs`` (run configurations) at the median time of ``records`` of the same kind.

    ``processor`` (as :func:`adlip.records.cpu` gives it) is the one the runs will be made on: a kind
    with finished records from that processor is priced by those alone, any other kind by all its
    records.
    """
    finished = defaultdict(list)
    for record in records:
        if run_seconds(record) is not None:
            finished[kind(record)].append(record)
    for key, group in finished.items():
        here = [record for record in group if same_processor(record, processor)]
        finished[key] = here or group
    used = {kind(c) for c in configs} & set(finished)
    medians = {key: statistics.median(run_seconds(r) for r in finished[key]) for key in used}
    priced = [medians[kind(c)] for c in configs if kind(c) in medians]
    return Estimate(seconds=float(sum(priced)), priced=len(priced), unpriced=len(configs) - len(priced),
                    basis=sum(len(finished[key]) for key in used),
                    machines=tuple(sorted({machine(r) for key in used for r in finished[key]})))
