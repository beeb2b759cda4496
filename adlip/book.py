"""Execute the book's notebooks with papermill and build the HTML with Jupyter Book.

The chapters live in ``notebooks/NN_topic.py`` (jupytext percent format); ``_toc.yml`` says
which of them are in the book. Building is done in two steps, so that a slow chapter can be
re-run alone and the HTML rebuilt from the copies already executed:

1. :func:`execute_notebooks` converts each chapter with jupytext and runs it with papermill,
   injecting ``profile`` (``smoke``, ``quick`` or ``full``) into the cell tagged
   ``parameters``. The executed ``.ipynb`` files land in ``<out_dir>/notebooks/``.
2. :func:`build_book` stages ``_config.yml``, ``_toc.yml``, ``book/`` and the executed
   notebooks into ``_build/site-src`` and runs ``jupyter-book build`` on that tree with
   warnings as errors. Jupyter Book never executes anything itself.

Command line::

    python -m adlip.book --profile quick                 # execute all chapters, then build
    python -m adlip.book --profile smoke --only 03_deep_svdd --no-build
    python -m adlip.book --only 18 --no-build --executed-dir _build/cifar10 -p dataset=cifar10
    python -m adlip.book --only 02 09 16 --preview       # a small book of three chapters
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from adlip.profiles import PROFILES, get_profile
from adlip.tables import markdown_table  # noqa: F401  (chapters import it from here too)

REPO_ROOT = Path(__file__).resolve().parent.parent
TOC_PATH = REPO_ROOT / "_toc.yml"
BOOK_SOURCES = ("_config.yml", "_toc.yml", "book")


class NotebookExecutionError(RuntimeError):
    """A chapter raised an exception while papermill executed it."""


def _load_yaml(path):
    try:
        import yaml
    except ImportError as err:  # pragma: no cover - yaml comes with jupyter-book
        raise ImportError("reading _toc.yml needs PyYAML; install the book extras: "
                          "pip install 'adlip[book]'") from err
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _toc_files(node):
    """Yield every ``file:`` entry of a (nested) Jupyter Book table of contents."""
    if isinstance(node, dict):
        if "file" in node:
            yield node["file"]
        for value in node.values():
            yield from _toc_files(value)
    elif isinstance(node, list):
        for item in node:
            yield from _toc_files(item)


def toc_notebooks(toc_path=TOC_PATH):
    """Return the chapter sources (``notebooks/NN_topic.py``) listed in ``_toc.yml``, sorted."""
    toc_path = Path(toc_path)
    notebook_dir = toc_path.parent / "notebooks"
    stems = sorted({Path(entry).stem for entry in _toc_files(_load_yaml(toc_path))
                    if Path(entry).parts[0] == "notebooks"})
    paths = [notebook_dir / f"{stem}.py" for stem in stems]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise FileNotFoundError(f"_toc.yml lists notebooks whose .py source does not exist: {missing}")
    return paths


def select_notebooks(names=None, toc_path=TOC_PATH):
    """Pick chapters by stem (``03_deep_svdd``) or unique prefix (``03``); all when ``names`` is None."""
    if names is None:
        return toc_notebooks(toc_path)
    if isinstance(names, str):
        names = [names]
    chosen = []
    for name in names:
        if Path(name).suffix == ".py" and Path(name).is_file():  # a chapter not yet in the toc
            chosen.append(Path(name).resolve())
            continue
        available = toc_notebooks(toc_path)
        stem = Path(name).stem
        matches = [p for p in available if p.stem == stem] or \
                  [p for p in available if p.stem.startswith(stem)]
        if len(matches) != 1:
            choices = ", ".join(p.stem for p in available)
            what = "matches several chapters" if matches else "is not a chapter in _toc.yml"
            raise ValueError(f"notebook name {name!r} {what}; choose from: {choices}")
        if matches[0] not in chosen:
            chosen.append(matches[0])
    return sorted(chosen)


def check_kernel(kernel_name="python3"):
    """Fail early, with the fix, if papermill would not find a kernel running this Python.

    A kernel spec whose command is plain ``python`` is started with the interpreter that runs
    papermill (jupyter_client substitutes it), which is what we want.
    """
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(kernel_name)
    except NoSuchKernel as err:
        raise RuntimeError(
            f"no Jupyter kernel named {kernel_name!r}; install one for this environment with "
            f"'{sys.executable} -m ipykernel install --sys-prefix'") from err
    command = spec.argv[0]
    if command in {"python", "python3", f"python{sys.version_info[0]}.{sys.version_info[1]}"}:
        return
    if Path(command).resolve() != Path(sys.executable).resolve():
        raise RuntimeError(
            f"kernel {kernel_name!r} runs {command}, not this environment's {sys.executable}; "
            f"reinstall it with '{sys.executable} -m ipykernel install --sys-prefix'")


def _failure_message(path, out_path, err):
    source = (err.source or "").strip().splitlines()
    excerpt = "\n    ".join(source[:6]) + ("\n    ..." if len(source) > 6 else "")
    reason = (err.evalue or "").strip().splitlines()
    reason = reason[-1] if reason else ""
    return (f"notebook {path.name} failed in code cell {err.cell_index} (execution count "
            f"{err.exec_count}) with {err.ename}: {reason}\n  cell source:\n    {excerpt}\n"
            f"  the executed copy with the full traceback is {out_path}")


def execute_notebooks(profile="quick", names=None, out_dir="_build/executed", parameters=None,
                      timeout=1800, kernel_name="python3"):
    """Run chapters with papermill; return ``{stem: {"seconds": wall, "cpu_seconds": kernel CPU}}``.

    Parameters
    ----------
    profile : {"smoke", "quick", "full"}
        Injected into each chapter's ``parameters`` cell; it sets the chapter's budget.
    names : list of str, optional
        Chapter stems or unique prefixes; default all chapters listed in ``_toc.yml``.
    out_dir : path
        Executed notebooks go to ``out_dir/notebooks/``; timings to ``out_dir/timings.json``.
    parameters : dict, optional
        Further values for the ``parameters`` cells (e.g. ``{"seed": 1}``).
    timeout : float
        Seconds allowed per cell.
    """
    import jupytext
    import papermill

    get_profile(profile)  # a ValueError naming the valid profiles, before any work
    paths = select_notebooks(names)
    check_kernel(kernel_name)
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    notebook_out = Path(out_dir) / "notebooks"
    notebook_out.mkdir(parents=True, exist_ok=True)
    values = {"profile": profile, **(parameters or {})}

    timings = {}
    for path in paths:
        out_path = notebook_out / f"{path.stem}.ipynb"
        print(f"executing {path.name} (profile {profile}) ...", flush=True)
        start, cpu_start = time.perf_counter(), _children_cpu_seconds()
        try:
            papermill.execute_notebook(jupytext.read(path), str(out_path), parameters=values,
                                       kernel_name=kernel_name, cwd=str(REPO_ROOT),
                                       progress_bar=False, execution_timeout=timeout)
        except papermill.PapermillExecutionError as err:
            raise NotebookExecutionError(_failure_message(path, out_path, err)) from err
        hide_injected_parameters(out_path)
        timings[path.stem] = {"seconds": round(time.perf_counter() - start, 1),
                              "cpu_seconds": round(_children_cpu_seconds() - cpu_start, 1)}
    _record_timings(Path(out_dir) / "timings.json", profile, timings)
    print(_timing_table(timings))
    return timings


def hide_injected_parameters(notebook_path) -> None:
    """Tag the cell papermill injects ("# Parameters", after the parameters cell) ``remove-cell``, so
    the book shows a chapter's parameters once, in its own cell, not twice."""
    import nbformat

    notebook = nbformat.read(notebook_path, as_version=4)
    for cell in notebook.cells:
        tags = cell.metadata.get("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            cell.metadata["tags"] = [*tags, "remove-cell"]
    nbformat.write(notebook, notebook_path)


def _children_cpu_seconds():
    """CPU time used so far by finished child processes (the kernels papermill started and reaped).

    On a shared machine wall-clock seconds depend on the load; CPU seconds measure the chapter.
    """
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _record_timings(path, profile, timings):
    """Merge this run's timings into ``timings.json`` (keyed by profile, then chapter)."""
    recorded = json.loads(path.read_text()) if path.exists() else {}
    recorded.setdefault(profile, {}).update(timings)
    path.write_text(json.dumps(recorded, indent=2, sort_keys=True) + "\n")


def _timing_table(timings):
    width = max([len(stem) for stem in timings] + [len("notebook")])
    lines = [f"{'notebook':<{width}}  seconds  cpu seconds", f"{'-' * width}  -------  -----------"]
    lines += [f"{stem:<{width}}  {t['seconds']:7.1f}  {t['cpu_seconds']:11.1f}"
              for stem, t in timings.items()]
    lines.append(f"{'total':<{width}}  {sum(t['seconds'] for t in timings.values()):7.1f}  "
                 f"{sum(t['cpu_seconds'] for t in timings.values()):11.1f}")
    return "\n".join(lines)


def stage_sources(executed_dir, site_src, chapters=None):
    """Copy the book's sources and the executed chapters into a fresh ``site_src`` tree.

    ``chapters`` (stems or prefixes) stages a preview of just those chapters, with a table of
    contents cut down to them; by default every chapter of ``_toc.yml`` is staged. MathJax is
    copied in from the installed book extras (see :func:`vendor_mathjax`) so that the built pages
    show their mathematics without a network.
    """
    executed = Path(executed_dir) / "notebooks"
    chosen = select_notebooks(chapters) if chapters else toc_notebooks()
    missing = [p.stem for p in chosen if not (executed / f"{p.stem}.ipynb").exists()]
    if missing:
        raise FileNotFoundError(
            f"no executed copy in {executed} for: {', '.join(missing)}; run "
            f"'python -m adlip.book --no-build --only {' '.join(missing)}' first")
    site_src = Path(site_src)
    if site_src.exists():
        shutil.rmtree(site_src)
    site_src.mkdir(parents=True)
    for name in BOOK_SOURCES:
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, site_src / name)
        else:
            shutil.copy2(source, site_src / name)
    if chapters:
        _write_yaml(site_src / "_toc.yml", preview_toc(_load_yaml(TOC_PATH), {p.stem for p in chosen}))
    (site_src / "notebooks").mkdir()
    for chapter in chosen:
        shutil.copy2(executed / f"{chapter.stem}.ipynb", site_src / "notebooks")
    vendor_mathjax(site_src)
    return site_src


def _write_yaml(path, document):
    import yaml

    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")


def preview_toc(toc, stems):
    """``toc`` with only the chapter entries in ``stems`` (and every non-chapter page); empty parts go."""
    def keep(entry):
        file = entry.get("file", "")
        return Path(file).parts[0] != "notebooks" or Path(file).stem in stems

    parts = []
    for part in toc.get("parts", []):
        chapters = [entry for entry in part.get("chapters", []) if keep(entry)]
        if chapters:
            parts.append({**part, "chapters": chapters})
    return {**toc, "parts": parts}


MATHJAX_BUNDLE = "tex-mml-chtml.js"   # the combined component Jupyter Book otherwise loads from a CDN
MATHJAX_FOLDER = "mathjax"             # under the book's _static folder


def local_mathjax():
    """The folder of MathJax 3's ``es5`` components installed with the book's extras, or None.

    They come from the ``django-static-mathjax`` wheel (plain static files, no Django needed),
    which the ``book`` extra installs; it puts them in an importable folder named ``mathjax``.
    """
    import importlib.util

    spec = importlib.util.find_spec("mathjax")
    for location in (spec.submodule_search_locations or []) if spec else []:
        folder = Path(location) / "static" / "mathjax" / "es5"
        if (folder / MATHJAX_BUNDLE).is_file():
            return folder
    return None


def vendor_mathjax(site_src, source=None) -> bool:
    """Copy MathJax into the staged book and point Sphinx at the copy; return whether it did.

    Without a local copy the book keeps Jupyter Book's default (MathJax from a CDN), and this says
    so once: the pages then show raw LaTeX when opened offline.
    """
    source = Path(source) if source is not None else local_mathjax()
    if source is None:
        print("note: MathJax is not installed (pip install 'adlip[book]'); the built pages will load it "
              "from a CDN and show raw LaTeX offline", flush=True)
        return False
    other_bundles = {p.name for p in source.glob("*.js")} - {MATHJAX_BUNDLE}
    shutil.copytree(source, Path(site_src) / "book" / "_static" / MATHJAX_FOLDER,
                    ignore=lambda folder, names: [n for n in names if Path(folder) == source and n in other_bundles])
    config_path = Path(site_src) / "_config.yml"
    config = _load_yaml(config_path)
    config.setdefault("sphinx", {}).setdefault("config", {})["mathjax_path"] = f"{MATHJAX_FOLDER}/{MATHJAX_BUNDLE}"
    _write_yaml(config_path, config)
    return True


def _jupyter_book_command():
    beside_python = Path(sys.executable).parent / "jupyter-book"
    if beside_python.exists():
        return [str(beside_python)]
    found = shutil.which("jupyter-book")
    if found is None:
        raise RuntimeError("jupyter-book is not installed; pip install 'adlip[book]'")
    return [found]


def build_book(executed_dir="_build/executed", out_dir="_build", chapters=None):
    """Stage the sources with the executed chapters and build the HTML; return the html folder.

    Warnings are errors (``-W -n --keep-going``): a broken reference, a missing citation or a
    page outside the table of contents fails the build. A preview of some ``chapters`` only is
    built with warnings allowed, since their links to the chapters left out cannot resolve.
    """
    out_dir = Path(out_dir).resolve()
    site_src = stage_sources(executed_dir, out_dir / "site-src", chapters)
    strict = [] if chapters else ["-W", "-n"]
    command = _jupyter_book_command() + ["build", str(site_src), "--path-output", str(out_dir),
                                         "--all", *strict, "--keep-going"]
    print("running:", " ".join(command), flush=True)
    result = subprocess.run(command, cwd=REPO_ROOT)
    if result.returncode != 0:
        raise RuntimeError(f"jupyter-book build failed (exit code {result.returncode}); "
                           "the warnings above say where")
    html = out_dir / "_build" / "html"
    print(f"HTML written to {html} (open {html / 'index.html'})")
    return html


def parse_parameters(pairs):
    """``["dataset=cifar10", "save_results=true"]`` -> ``{"dataset": "cifar10", "save_results": True}``.

    Values are read as YAML scalars, as papermill's ``-y`` would, so numbers and booleans keep
    their type; ``profile`` has its own option.
    """
    import yaml  # comes with jupyter-book, like _load_yaml's

    parameters = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise ValueError(f"parameter {pair!r} is not NAME=VALUE with NAME a Python name, e.g. dataset=cifar10")
        if name == "profile":
            raise ValueError("set the profile with --profile, not as a parameter")
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as error:
            problem = str(error).splitlines()[0]
            raise ValueError(f"parameter {pair!r}: the value is not a YAML scalar ({problem}); quote text "
                             "values that hold YAML's special characters") from None
        if not (value is None or isinstance(value, (str, int, float, bool))):
            raise ValueError(f"parameter {pair!r}: the value must be a single number, boolean or text, "
                             f"got a {type(value).__name__}")
        parameters[name] = value
    return parameters


INSTALL_TARGET = "adlip[colab] @ git+https://github.com/adlip-book/adlip"


def colab_notebooks(out_dir, ref: str | None = None, names=None) -> list:
    """Write the chapters as unexecuted ``.ipynb`` files for Colab's launch buttons; return their paths.

    Each chapter's install cell (the one that runs only on Colab) is pinned to ``ref``, a tag or a
    commit of the repository (default: this checkout's commit), so the package a reader installs is
    the one the chapter was written for. A chapter without that cell is an error.
    """
    import jupytext
    import nbformat

    from adlip.records import git_commit

    ref = ref or (git_commit() or "").removesuffix("+dirty")
    if not ref:
        raise ValueError("no git commit to pin the install cells to: pass ref (a tag or a commit)")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in select_notebooks(names):
        notebook = jupytext.read(path)
        install = [cell for cell in notebook.cells if cell.cell_type == "code" and INSTALL_TARGET in cell.source]
        if len(install) != 1:
            raise ValueError(f"{path.name} needs exactly one install cell with {INSTALL_TARGET!r}, has {len(install)}")
        install[0].source = install[0].source.replace(INSTALL_TARGET, f"{INSTALL_TARGET}@{ref}")
        notebook.metadata.pop("jupytext", None)
        nbformat.validate(notebook)
        target = out_dir / f"{path.stem}.ipynb"
        nbformat.write(notebook, target)
        written.append(target)
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m adlip.book",
        description="Execute the book's chapters with papermill, then build the HTML.")
    parser.add_argument("--profile", default="quick", choices=sorted(PROFILES),
                        help="budget injected into every chapter (default: quick)")
    parser.add_argument("--only", nargs="+", metavar="NAME",
                        help="execute only these chapters (stem like 03_deep_svdd, or prefix 03)")
    parser.add_argument("--no-build", action="store_true", help="execute only, skip jupyter-book")
    parser.add_argument("--preview", action="store_true",
                        help="build a book of just the --only chapters (links to the others stay unresolved)")
    parser.add_argument("--no-execute", action="store_true",
                        help="build from the notebooks already executed in --executed-dir")
    parser.add_argument("--executed-dir", default="_build/executed",
                        help="where executed notebooks go (default: _build/executed)")
    parser.add_argument("--out-dir", default="_build", help="build output (default: _build)")
    parser.add_argument("--seed", type=int, help="override the chapters' seed parameter")
    parser.add_argument("-p", "--parameter", action="append", default=[], metavar="NAME=VALUE",
                        help="set a parameter of the chapters' parameters cell, e.g. -p dataset=cifar10 "
                             "(the value is read as YAML: true, 3, 0.5, cifar10); repeatable")
    parser.add_argument("--colab", metavar="DIR",
                        help="only write the chapters as Colab notebooks (.ipynb, install cell pinned to "
                             "--ref) into DIR, and stop")
    parser.add_argument("--ref", help="with --colab: the tag or commit the install cells pin (default: HEAD)")
    args = parser.parse_args(argv)
    if args.preview and not args.only:
        parser.error("--preview builds the chapters named by --only; name them, e.g. --only 02 09 16")
    if not TOC_PATH.is_file():
        parser.exit(2, f"python -m adlip.book builds the book from a checkout of the adlip repository "
                       f"(_toc.yml, book/, notebooks/), and {REPO_ROOT} is not one: clone the repository and "
                       "run `make book` there\n")

    if args.colab:
        try:
            written = colab_notebooks(args.colab, args.ref, args.only)
        except ValueError as err:
            parser.error(str(err))
        print(f"{len(written)} Colab notebooks written to {args.colab}")
        return
    if not args.no_execute:
        try:
            parameters = parse_parameters(args.parameter)
            select_notebooks(args.only)       # an unknown chapter fails here, before any execution
        except ValueError as err:
            parser.error(str(err))
        if args.seed is not None:
            parameters["seed"] = args.seed
        execute_notebooks(args.profile, names=args.only, out_dir=args.executed_dir,
                          parameters=parameters)
    if not args.no_build:
        build_book(args.executed_dir, args.out_dir, args.only if args.preview else None)


if __name__ == "__main__":
    main()
