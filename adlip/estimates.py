"""How long runs should take, read off the times that finished records measured.

Every record carries ``train_seconds``, ``score_seconds`` and ``lip_seconds`` (wall time in its
worker). Before a long sweep, :func:`expected_seconds` prices the runs still to do at the median
of the finished runs of the same kind (profile, data set, algorithm, standard or Lipschitz), so
``adlip sweep --dry-run`` can say how many hours the rest of a grid is on the machine that made
those records. A kind with no finished run is counted, not guessed.
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
    """The kind of machine a record was made on, e.g. "x86_64, 2 cores"."""
    cores = (record.get("threads") or {}).get("cpu_count")
    return f"{record.get('machine', 'unknown')}" + (f", {cores} cores" if cores else "")


def kind(run) -> tuple:
    """(profile, data set, algorithm, Lipschitz or not) of a record (dict) or a run configuration."""
    get = run.get if isinstance(run, dict) else lambda name: getattr(run, name)
    return (get("profile"), get("dataset"), get("algorithm"), get("lipschitz") is not None)


@dataclass(frozen=True)
class Estimate:
    """What the runs still to do should cost one worker, and what the figure rests on."""

    seconds: float            # of the runs whose kind has a finished record
    priced: int               # runs priced
    unpriced: int             # runs of a kind no finished record measured
    basis: int                # finished records the medians come from
    machines: tuple           # where those records were made (the records' ``machine`` field)

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


def expected_seconds(configs, records) -> Estimate:
    """Price ``configs`` (run configurations) at the median time of ``records`` of the same kind."""
    times = defaultdict(list)
    machines = set()
    for record in records:
        seconds = run_seconds(record)
        if seconds is not None:
            times[kind(record)].append(seconds)
            machines.add(machine(record))
    medians = {key: statistics.median(values) for key, values in times.items()}
    priced = [medians[kind(c)] for c in configs if kind(c) in medians]
    return Estimate(seconds=float(sum(priced)), priced=len(priced), unpriced=len(configs) - len(priced),
                    basis=sum(len(v) for v in times.values()), machines=tuple(sorted(machines)))
