"""The book: every chapter in ``_toc.yml`` runs under the smoke profile, and the HTML builds.

Executing the chapters takes minutes, so those tests carry the ``notebooks`` marker
(``pytest -m "not notebooks"`` skips them). Chapters that read MNIST are skipped, with the reason,
when the data cannot be loaded (set ``ADLIP_DATA_DIR`` to a folder with ``mnist.npz``): those that
call the loader in their own cells before running, and those that reach it through the package (a
sweep, a records helper) when their execution fails with the loader's "could not load" message.
"""
import ast
import json
import shutil
from pathlib import Path

import jupytext
import pytest

from adlip import book
from adlip.profiles import PROFILES

CHAPTERS = book.toc_notebooks()
DATA_FUNCTIONS = ("load_dataset", "one_vs_rest")
MISSING_DATA = "could not load 'mnist'"


def needs_data(path):
    source = path.read_text(encoding="utf-8")
    return any(name in source for name in DATA_FUNCTIONS)


def failed_for_missing_data(error, data_problem):
    """True if a chapter's failure is the loader saying MNIST is missing (and it is missing)."""
    cause = getattr(error.__cause__, "evalue", "") or ""  # papermill's error keeps the whole message
    return bool(data_problem) and MISSING_DATA in f"{cause}\n{error}"


@pytest.fixture(scope="module")
def executed_dir(tmp_path_factory):
    """One folder for the whole module, so the build test can reuse the executed chapters."""
    return tmp_path_factory.mktemp("executed")


@pytest.fixture(scope="module")
def data_problem():
    """None if MNIST loads, else the loader's explanation of what is missing."""
    from adlip.data import load_dataset

    try:
        load_dataset("mnist")
    except ValueError as error:
        return str(error)
    return None


def chapter_parameters(path):
    """The values of a chapter's parameters cell, which must be plain assignments of literals (read
    with ``ast.literal_eval``: the cell is parsed, never executed)."""
    cell = next(cell for cell in jupytext.read(path).cells if "parameters" in cell.metadata.get("tags", []))
    values = {}
    for node in ast.parse(cell.source).body:
        assert isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name), \
            f"{path.name}: the parameters cell may only assign literals to names, found {ast.dump(node)[:80]}"
        values[node.targets[0].id] = ast.literal_eval(node.value)
    return values


# Chapters that show a saved run on the other data set (parameters ``save_results`` and ``results_dir``).
SAVING_CHAPTERS = [p for p in CHAPTERS if "save_results" in chapter_parameters(p)]
# Smoke records of the saving chapters' studies on CIFAR-10, made from committed code (the commit is
# in each record) with ``python -m adlip study <name> --profile smoke --only '*cifar10*'``.
SAVED_RUNS = Path(__file__).resolve().parent / "golden" / "saved_runs"


@pytest.fixture(scope="module")
def saving_results_dir(tmp_path_factory):
    """A results folder holding the saved CIFAR-10 smoke runs, for the chapters that save their results.

    Each such chapter runs once, on MNIST, with ``save_results``: it saves its own run here (the
    saving half) and renders the saved CIFAR-10 run (the rendering half), so CI checks both without
    executing the chapter a second time on CIFAR-10 (those two executions took 534 s of a loaded
    test run: 282 s for chapter 16, 252 s for chapter 18).
    """
    results_dir = tmp_path_factory.mktemp("results")
    shutil.copytree(SAVED_RUNS, results_dir, dirs_exist_ok=True)
    return results_dir


def all_records_in(source: str):
    """A selector of every record file in a fixture's ``source`` folder."""
    return lambda folder: sorted((folder / source).glob("*.json*"))


def experiment2_smoke_grid(folder):
    """Experiment 2's smoke grid out of the pinned smoke runs (which also hold baselines and companions)."""
    from adlip import experiments

    return [experiments.record_path(folder, config) for config in experiments.grid("exp2", "smoke", ["mnist"])]


# Chapters that render smoke runs a session fixture (conftest.py) already makes in this test process:
# per chapter, (fixture, a selector of record files in the fixture's folder, the results folder they
# go to). The chapter is given those records instead of training the same networks again. Chapter 20
# also renders experiment 2's AnoGAN runs; chapter 9, run before it, leaves them in place, and sharing
# them again keeps chapter 20 cheap when it runs alone.
SHARED_RUNS = {
    "09_experiment2": [("pinned_smoke_runs", experiment2_smoke_grid, "exp2/smoke")],
    "20_gan_detectors": [("mode_collapse_smoke", all_records_in("mode-collapse/smoke"), "mode-collapse/smoke"),
                         ("pinned_smoke_runs", experiment2_smoke_grid, "exp2/smoke")],
}


def share_runs(path, request):
    """Copy the records shared with chapter ``path`` into the checkout's results folder, where the
    chapter looks first (only files not there already)."""
    for fixture, select, target in SHARED_RUNS.get(path.stem, []):
        folder = book.REPO_ROOT / "results" / target
        folder.mkdir(parents=True, exist_ok=True)
        for record in select(request.getfixturevalue(fixture).folder):
            if not (folder / record.name).exists():
                shutil.copy2(record, folder / record.name)


def test_the_pinned_smoke_runs_hold_experiment_2s_grid():
    """What sharing them with chapters 9 and 20 relies on: the grid is a part of the pinned runs."""
    from adlip import experiments

    from conftest import smoke_record_generator

    assert set(experiments.grid("exp2", "smoke", ["mnist"])) <= set(smoke_record_generator().configs())


def test_the_saved_runs_are_clean_cifar10_smoke_records():
    from adlip.records import read_record_file

    paths = sorted(SAVED_RUNS.rglob("*.json*"))
    assert {path.parent.parent.name for path in paths} >= {"attacks", "gnp"}
    for path in paths:
        [record] = read_record_file(path)
        assert record["dataset"] == "cifar10" and path.parent.name == "smoke", path
        assert record["git_commit"] and not record["git_commit"].endswith("+dirty"), path


def output_text(notebook_path):
    notebook = json.loads(notebook_path.read_text(encoding="utf-8"))
    parts = []
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            parts.extend(output.get("text", []))
            for value in output.get("data", {}).values():
                parts.extend(value if isinstance(value, list) else [str(value)])
    return "".join(parts)


def error_outputs(notebook_path):
    notebook = json.loads(notebook_path.read_text(encoding="utf-8"))
    return [output for cell in notebook["cells"] for output in cell.get("outputs", [])
            if output.get("output_type") == "error"]


def test_toc_lists_chapters():
    assert CHAPTERS, "_toc.yml lists no notebooks/NN_topic chapters"
    assert [p.stem for p in CHAPTERS] == sorted(p.stem for p in CHAPTERS)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_has_parameters_cell(path):
    cells = [cell for cell in jupytext.read(path).cells
             if "parameters" in cell.metadata.get("tags", [])]
    assert len(cells) == 1, f"{path.name} needs exactly one cell tagged 'parameters', has {len(cells)}"
    values = chapter_parameters(path)
    assert values.get("profile") in PROFILES, f"{path.name}: parameters cell must set profile"
    assert isinstance(values.get("seed", 0), int), f"{path.name}: seed must be an integer"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_parameter_is_described_and_used(path, tmp_path):
    """What ``papermill --help-notebook`` shows: each parameter with a one-line description, and
    none that the chapter declares but never reads."""
    import papermill

    notebook = jupytext.read(path)
    jupytext.write(notebook, tmp_path / f"{path.stem}.ipynb")
    declared = papermill.inspect_notebook(str(tmp_path / f"{path.stem}.ipynb"))
    assert declared, f"{path.name}: papermill finds no parameters"
    undescribed = [name for name, info in declared.items() if not info["help"]]
    assert not undescribed, f"{path.name}: parameters without a '# description' comment: {undescribed}"
    read = set()
    for cell in notebook.cells:
        if cell.cell_type != "code" or "parameters" in cell.metadata.get("tags", []):
            continue
        code = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
        read |= {node.id for node in ast.walk(ast.parse(code))
                 if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}
    unused = sorted(set(declared) - read)
    assert not unused, f"{path.name}: parameters that nothing reads: {unused}"


def test_select_notebooks_by_stem_and_prefix():
    first = CHAPTERS[0]
    assert book.select_notebooks([first.stem]) == [first]
    assert book.select_notebooks([first.stem[:2]]) == [first]
    assert book.select_notebooks(None) == CHAPTERS


def test_select_notebooks_rejects_unknown_names():
    with pytest.raises(ValueError, match="not a chapter"):
        book.select_notebooks(["99_no_such_chapter"])


def test_execute_rejects_unknown_profile(tmp_path):
    with pytest.raises(ValueError, match="unknown profile"):
        book.execute_notebooks("huge", names=[CHAPTERS[0].stem], out_dir=tmp_path)


@pytest.mark.notebooks
@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_executes_under_smoke_profile(path, executed_dir, data_problem, request):
    if data_problem and needs_data(path):
        pytest.skip(f"{path.stem} reads MNIST, which could not be loaded: {data_problem}")
    saving = path in SAVING_CHAPTERS
    results_dir = request.getfixturevalue("saving_results_dir") if saving else None
    parameters = dict(save_results=True, results_dir=str(results_dir)) if saving else {}
    before = set(results_dir.rglob("*.json*")) if saving else set()
    share_runs(path, request)
    try:
        timings = book.execute_notebooks("smoke", names=[path.stem], out_dir=executed_dir,
                                         parameters=parameters)
    except book.NotebookExecutionError as error:
        if failed_for_missing_data(error, data_problem):
            pytest.skip(f"{path.stem} reaches MNIST through the package, which could not load it: "
                        f"{data_problem}")
        raise
    executed = executed_dir / "notebooks" / f"{path.stem}.ipynb"
    assert executed.exists()
    assert not error_outputs(executed)
    if saving:  # its own run is saved, and the committed CIFAR-10 run rendered (not the "no saved results" note)
        assert [p.name for p in set(results_dir.rglob("*.json*")) - before if "-mnist-" in p.name], \
            f"{path.stem} saved no MNIST record in {results_dir}"
        text = output_text(executed)
        assert "Saved by adlip" in text and "cifar10" in text and "No saved" not in text
    recorded = json.loads((executed_dir / "timings.json").read_text())
    assert recorded["smoke"][path.stem] == timings[path.stem]
    assert timings[path.stem]["seconds"] > 0 and timings[path.stem]["cpu_seconds"] > 0


@pytest.mark.notebooks
def test_book_builds_without_warnings(executed_dir, data_problem, tmp_path):
    missing = [p.stem for p in CHAPTERS if not (executed_dir / "notebooks" / f"{p.stem}.ipynb").exists()]
    if missing and data_problem:  # a chapter that needs MNIST was skipped above
        pytest.skip(f"the book needs every chapter executed, and MNIST could not be loaded: {data_problem}")
    if missing:  # e.g. when this test is selected on its own
        book.execute_notebooks("smoke", names=missing, out_dir=executed_dir)
    html = book.build_book(executed_dir, out_dir=tmp_path / "site")  # raises on any warning
    assert (html / "index.html").exists()
    for path in CHAPTERS:
        page = html / "notebooks" / f"{path.stem}.html"
        assert page.exists(), f"no page for {path.stem}"
        text = page.read_text(encoding="utf-8")
        assert "Traceback" not in text
        assert "adlip.css" in text, f"{path.stem}: the page does not load the book's stylesheet"
        assert '<span class="c1"># Parameters</span>' not in text, f"{path.stem} shows papermill's injected cell"
    assert (html / "_static" / "adlip.css").is_file()
    if book.local_mathjax() is not None:  # the book extra installs it; then no page needs the network
        assert (html / "_static" / "mathjax" / book.MATHJAX_BUNDLE).is_file()
        assert (html / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").is_dir()
        for page in html.rglob("*.html"):
            text = page.read_text(encoding="utf-8")
            assert "cdn.jsdelivr.net/npm/mathjax" not in text, f"{page.name} loads MathJax from a CDN"
        assert "_static/mathjax/tex-mml-chtml.js" in (html / "notebooks" / "05_robustness.html").read_text()


def test_a_preview_toc_keeps_the_chosen_chapters_and_the_book_pages():
    toc = {"format": "jb-book", "root": "book/intro", "parts": [
        {"caption": "A", "chapters": [{"file": "notebooks/01_a"}, {"file": "notebooks/02_b"}]},
        {"caption": "B", "numbered": True, "chapters": [{"file": "notebooks/03_c"}]},
        {"caption": "Back", "chapters": [{"file": "book/references"}]}]}
    preview = book.preview_toc(toc, {"02_b"})
    assert preview == {"format": "jb-book", "root": "book/intro", "parts": [
        {"caption": "A", "chapters": [{"file": "notebooks/02_b"}]},
        {"caption": "Back", "chapters": [{"file": "book/references"}]}]}
    assert toc["parts"][0]["chapters"][0] == {"file": "notebooks/01_a"}  # the input is left alone


def _fake_mathjax(folder):
    for name in ("tex-mml-chtml.js", "tex-svg.js", "output/chtml/fonts/woff-v2/a.woff", "input/tex/x.js"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("//")
    return folder


def test_mathjax_is_copied_into_the_staged_book_and_configured(tmp_path):
    site = tmp_path / "site"
    (site / "book" / "_static").mkdir(parents=True)
    (site / "_config.yml").write_text("title: t\nsphinx:\n  config:\n    nb_render_markdown_format: myst\n")
    assert book.vendor_mathjax(site, source=_fake_mathjax(tmp_path / "es5"))
    copied = site / "book" / "_static" / "mathjax"
    assert (copied / "tex-mml-chtml.js").is_file() and (copied / "output/chtml/fonts/woff-v2/a.woff").is_file()
    assert not (copied / "tex-svg.js").exists()      # only the bundle the pages load
    config = book._load_yaml(site / "_config.yml")
    assert config["sphinx"]["config"] == {"nb_render_markdown_format": "myst",
                                          "mathjax_path": "mathjax/tex-mml-chtml.js"}


def test_without_a_local_mathjax_the_book_says_it_needs_the_network(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(book, "local_mathjax", lambda: None)
    (tmp_path / "_config.yml").write_text("title: t\n")
    assert not book.vendor_mathjax(tmp_path)
    assert "CDN" in capsys.readouterr().out
    assert book._load_yaml(tmp_path / "_config.yml") == {"title": "t"}


def test_the_book_extra_installs_mathjax():
    folder = book.local_mathjax()
    if folder is None:
        pytest.skip("the book extra is not installed here (pip install 'adlip[book]')")
    assert (folder / "output" / "chtml" / "fonts" / "woff-v2").is_dir()


def test_preview_needs_chapters(capsys):
    with pytest.raises(SystemExit):
        book.main(["--preview"])
    assert "--only" in capsys.readouterr().err


def test_the_injected_parameters_cell_is_hidden(tmp_path):
    import nbformat

    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("profile = 'quick'", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("# Parameters\nprofile = 'smoke'\n", metadata={"tags": ["injected-parameters"]}),
        nbformat.v4.new_code_cell("print(profile)")])
    nbformat.write(notebook, tmp_path / "chapter.ipynb")
    book.hide_injected_parameters(tmp_path / "chapter.ipynb")
    tags = [cell.metadata.get("tags", []) for cell in nbformat.read(tmp_path / "chapter.ipynb", as_version=4).cells]
    assert tags == [["parameters"], ["injected-parameters", "remove-cell"], []]


def test_colab_notebooks_are_valid_and_install_the_pinned_package(tmp_path):
    import nbformat

    written = book.colab_notebooks(tmp_path, ref="v1.2.3")
    assert [p.stem for p in written] == [p.stem for p in CHAPTERS]
    for path in written:
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
        first_code = next(cell for cell in notebook.cells if cell.cell_type == "code")
        assert "google.colab" in first_code.source, f"{path.name}: the install cell must come first"
        assert "adlip[colab] @ git+https://github.com/adlip-book/adlip@v1.2.3" in first_code.source
        assert not any(cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")


def test_colab_export_from_the_command_line(tmp_path):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "adlip.book", "--colab", str(tmp_path), "--ref", "abc1234",
                             "--only", "00"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["00_introduction.ipynb"]
    assert "@abc1234" in (tmp_path / "00_introduction.ipynb").read_text()
