"""The two shapes every study shares: its budget per profile, and its grid -> run -> record cycle.

A :class:`StudyBudget` is a frozen dataclass of what a study's runs cost under one adlip profile
(``smoke``, ``quick``, ``full``): the values that differ per profile live in the subclass's
``PER_PROFILE`` table, the values the profile itself gives (its epochs scale, say) come from
``from_profile``, and ``caption()`` states the whole budget in one sentence for the book's tables.

A :class:`Study` is a grid of run specs per profile, a function that turns one spec into one
record, the file each record lives in under ``results/<study>/<profile>/``, and the paper's rows it
is compared with. :meth:`Study.records` is the one call a chapter makes: it reads the committed
records, running the missing ones only where asked (by default only at ``smoke``, so that CI
exercises every study end to end in seconds).
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar

from adlip.checks import check_integer
from adlip.data import _check_class, check_dataset_name
from adlip.profiles import Profile, get_profile
from adlip.records import read_record_file, results_folder, write_record


@dataclass(frozen=True)
class StudyBudget:
    """A study's budget under one profile; subclasses add their fields, ``PER_PROFILE`` and ``caption``."""

    profile: str

    PER_PROFILE: ClassVar[dict] = {}   # profile name -> the fields that differ per profile

    @classmethod
    def from_profile(cls, profile: Profile) -> dict:
        """The fields the adlip profile itself sets (none by default; e.g. its epochs scale)."""
        return {}

    @classmethod
    def resolve(cls, profile="quick", **overrides) -> "StudyBudget":
        """The budget under ``profile`` (a name or a :class:`~adlip.profiles.Profile`), with ``overrides``."""
        profile = get_profile(profile)
        if profile.name not in cls.PER_PROFILE:
            raise ValueError(f"{cls.__name__} has no budget for profile {profile.name!r}; "
                             f"choose one of {sorted(cls.PER_PROFILE)}")
        fields = {**cls.from_profile(profile), **cls.PER_PROFILE[profile.name], **overrides}
        unknown = set(fields) - {f for f in cls.__dataclass_fields__ if f != "profile"}
        if unknown:
            raise ValueError(f"unknown {cls.__name__} fields {sorted(unknown)}")
        return cls(profile=profile.name, **fields)

    def caption(self) -> str:
        """The budget in one sentence, for a table's caption."""
        return f"Budget ({self.profile} profile): " + ", ".join(
            f"{key} {value}" for key, value in self.to_dict().items() if key != "profile") + "."

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class TaskRun:
    """A run on one one-vs-rest task: data set, normal class, seed, and the profile of its budget.

    Subclasses name their study's runs (``PREFIX``) and add fields of their own.
    """

    dataset: str = "mnist"
    normal_class: int = 0
    seed: int = 0
    profile: str = "quick"

    PREFIX: ClassVar[str] = "run"

    def __post_init__(self):
        check_dataset_name(self.dataset)
        _check_class(self.dataset, self.normal_class)
        check_integer("seed", self.seed, 0, what="a non-negative integer")
        get_profile(self.profile)

    @property
    def run_id(self) -> str:
        """``<prefix>-<dataset>-c<class>-s<seed>`` (the profile is the record's folder)."""
        return f"{self.PREFIX}-{self.dataset}-c{self.normal_class}-s{self.seed}"


def _spec_name(spec) -> str:
    return getattr(spec, "run_id", None) or str(spec)


@dataclass(frozen=True)
class Study:
    """A study: its grid of runs per profile, how one run becomes a record, and where records live.

    - ``grid(profile)`` lists the run specs (frozen dataclasses that carry their profile);
    - ``run(spec)`` trains and measures one spec and returns its record (a JSON-ready dict);
    - ``record_file(spec)`` is the file name of that record in the study's folder;
    - ``budget(profile)`` is the study's budget (anything with ``caption()``), stated by its tables;
    - ``reference()``, if given, returns the published rows the study is compared with;
    - ``run_many(specs, folder, workers, progress)``, if given, runs many specs at once (the
      thesis's experiments run each in a worker process); otherwise they run one after another;
    - ``partial`` says whether a chapter may show an unfinished grid (a sweep in progress) or
      needs every record;
    - ``resumable`` says that ``run`` takes ``cache_dir=``, a folder where it keeps its finished
      stages (:mod:`adlip.resume`), so that a run interrupted after an hour resumes from there.
    """

    name: str
    title: str
    grid: Callable[[str], list]
    run: Callable[[Any], dict]
    record_file: Callable[[Any], str]
    budget: Callable[[str], Any]
    reference: Callable[[], Any] | None = None
    run_many: Callable[..., Any] | None = None
    partial: bool = False
    resumable: bool = False

    def folder(self, profile: str, results_dir="results") -> Path:
        """``results_dir/<study>/<profile>/``: where records are written and, for the default
        ``"results"``, the first of the working folder's, the installed package's or the checkout's
        copy that has them (see :func:`adlip.records.results_folder`)."""
        return results_folder(results_dir, self.name, get_profile(profile).name)

    def output_folder(self, profile: str, results_dir="results") -> Path:
        """``results_dir/<study>/<profile>/`` as given: where new records are written (never inside
        an installed package)."""
        return Path(results_dir) / self.name / get_profile(profile).name

    def command(self, profile: str) -> str:
        """The shell command that writes this study's missing records at ``profile``."""
        return f"python -m adlip study {self.name} --profile {get_profile(profile).name}"

    def missing(self, profile: str, results_dir="results", specs=None, out_dir=None) -> list:
        """The specs (of ``specs``, default the profile's grid) that have no record yet in the study's
        folder (or in ``out_dir``, if given)."""
        folder = self.folder(profile, results_dir) if out_dir is None else Path(out_dir)
        specs = self.grid(profile) if specs is None else list(specs)
        return [spec for spec in specs if not (folder / self.record_file(spec)).is_file()]

    def saved(self, spec, results_dir="results") -> dict | None:
        """The record of ``spec`` if one is there (see :meth:`folder`), else None: never runs anything."""
        path = self.folder(spec.profile, results_dir) / self.record_file(spec)
        return read_record_file(path)[0] if path.is_file() else None

    def save(self, record: dict, spec, results_dir="results") -> Path:
        """Write ``record`` as the record of ``spec`` (a run made outside :meth:`run_missing`, such as
        a chapter's own); returns its path."""
        path = self.output_folder(spec.profile, results_dir) / self.record_file(spec)
        write_record(record, path)
        return path

    def run_missing(self, profile: str, results_dir="results", specs=None, workers: int = 0,
                    progress: bool = True, out_dir=None) -> list:
        """Run every spec without a record and write each record as it finishes; return the specs run.

        A record is written atomically as soon as its run ends, so an interrupted study loses only the
        run in flight (a ``resumable`` study not even that: only the stage in flight) and the next
        call starts from there. ``out_dir`` replaces the study's folder.
        """
        todo = self.missing(profile, results_dir, specs, out_dir=out_dir)
        folder = self.output_folder(profile, results_dir) if out_dir is None else Path(out_dir)
        if self.run_many is not None:
            self.run_many(todo, folder, workers=workers, progress=progress)
            return todo
        from adlip.progress import progress_bar as tqdm

        for spec in tqdm(todo, desc=self.name, unit="run", disable=not progress or not todo):
            start = time.perf_counter()
            record = self.run(spec, cache_dir=folder / ".cache") if self.resumable else self.run(spec)
            record.setdefault("seconds", time.perf_counter() - start)
            write_record(record, folder / self.record_file(spec))
        return todo

    def records(self, profile: str, results_dir="results", run=None, specs=None, workers: int = 0,
                progress: bool = False) -> list:
        """The study's records at ``profile``, in grid order: what a chapter renders.

        ``run=None`` runs the missing records only under the ``smoke`` profile and otherwise reads
        the committed ones; ``run=True`` completes the grid first; ``run=False`` never runs anything.
        A missing record is an error that names the command which makes it, unless the study is
        ``partial`` (then the records there are returned, and an empty folder is the error).
        """
        profile = get_profile(profile).name
        if run is None:
            run = profile == "smoke"
        if run:
            self.run_missing(profile, results_dir, specs, workers=workers, progress=progress)
        folder = self.folder(profile, results_dir)
        specs = self.grid(profile) if specs is None else list(specs)
        paths = [folder / self.record_file(spec) for spec in specs]
        absent = [_spec_name(spec) for spec, path in zip(specs, paths) if not path.is_file()]
        if absent and not self.partial:
            raise ValueError(f"no {self.name} record for {', '.join(absent[:3])}"
                             f"{' and others' if len(absent) > 3 else ''} in {folder}: run "
                             f"`{self.command(profile)}` first, or pass run=True")
        records = [record for path in paths if path.is_file() for record in read_record_file(path)]
        if self.partial and not records:
            raise ValueError(f"no {self.name} records for profile {profile!r} in {folder}: run "
                             f"`{self.command(profile)}` or execute the chapter with run_missing=True")
        return records

