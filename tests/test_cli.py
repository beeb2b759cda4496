"""The command line as users meet it: --version, --help (every option explained, the internal worker
hidden, the program named as it was invoked), and the LICENSE and CITATION.cff files beside it.

All fast: they build the parser or run ``--version``/``--help``, which import no TensorFlow.
"""
import argparse
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import adlip
from adlip import cli

ROOT = Path(__file__).resolve().parents[1]


def _subcommands(parser: argparse.ArgumentParser) -> dict:
    """The parser's subcommands by name, the worker included (argparse keeps them in one action)."""
    return parser._subparsers._group_actions[0].choices


def _exit_and_output(argv, capsys) -> tuple:
    """Run ``cli.main(argv)`` for an option that exits by itself; return its exit code and stdout."""
    with pytest.raises(SystemExit) as stop:
        cli.main(argv)
    return stop.value.code, capsys.readouterr().out


def test_version_prints_the_package_version_and_exits_0(capsys):
    code, out = _exit_and_output(["--version"], capsys)
    assert code == 0
    assert out.strip() == f"adlip {adlip.__version__}"


def test_python_m_adlip_version():
    done = subprocess.run([sys.executable, "-m", "adlip", "--version"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"adlip {adlip.__version__}"


def test_console_script_names_itself_adlip():
    """The installed ``adlip`` script (beside this Python, as in a virtualenv) says ``usage: adlip``."""
    script = Path(sys.executable).parent / "adlip"
    if not script.exists():
        pytest.skip("no adlip console script beside this Python (package not installed with pip -e .)")
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: adlip ")


def test_worker_command_is_not_in_the_help(capsys):
    code, out = _exit_and_output(["--help"], capsys)
    assert code == 0
    assert "run-config" not in out
    assert "SUPPRESS" not in out
    for name in cli.PUBLIC_COMMANDS:
        assert name in out


def test_worker_command_still_parses():
    """Hidden is not removed: sweeps start their workers with ``python -m adlip run-config``."""
    args = cli.build_parser().parse_args(["run-config", "{}", "--record", "r.json"])
    assert (args.command, args.config_json, args.record, args.cache_dir) == ("run-config", "{}", "r.json", None)


def test_public_commands_are_the_parser_commands_less_the_worker():
    assert set(_subcommands(cli.build_parser())) == set(cli.PUBLIC_COMMANDS) | {"run-config"}


@pytest.mark.parametrize("command", cli.PUBLIC_COMMANDS)
def test_every_option_has_help(command):
    subparser = _subcommands(cli.build_parser())[command]
    missing = [action.option_strings or action.dest for action in subparser._actions
               if not (action.help and action.help.strip()) or action.help == argparse.SUPPRESS]
    assert not missing, f"{command}: options without help text: {missing}"


def test_every_top_level_option_has_help():
    parser = cli.build_parser()
    assert all(action.help and action.help != argparse.SUPPRESS for action in parser._actions
               if action.option_strings)


@pytest.mark.parametrize("argv0, prog", [
    ("/work/venv/bin/adlip", "adlip"),
    ("adlip", "adlip"),
    ("/work/main/adlip/__main__.py", "python -m adlip"),
    ("-m", "python -m adlip"),
])
def test_prog_follows_how_adlip_was_invoked(monkeypatch, argv0, prog):
    monkeypatch.setattr(sys, "argv", [argv0])
    parser = cli.build_parser()
    assert parser.prog == prog
    assert _subcommands(parser)["run"].prog == f"{prog} run"


def test_usage_line_says_adlip_for_the_console_script(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["/usr/local/bin/adlip"])
    code, out = _exit_and_output(["run", "--help"], capsys)
    assert code == 0
    assert out.startswith("usage: adlip run ")


def test_license_is_mit():
    text = (ROOT / "LICENSE").read_text()
    assert "MIT License" in text
    assert "Copyright (c) 2026 the adlip authors" in text


def test_citation_file_is_cff_1_2_0_with_the_five_sources():
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert citation["cff-version"] == "1.2.0"
    assert citation["license"] == "MIT"
    assert citation["version"] == adlip.__version__
    assert citation["title"] and citation["message"] and citation["authors"]
    references = citation["references"]
    assert len(references) >= 5
    assert all(ref["title"] and ref["authors"] and ref["year"] for ref in references)


def test_the_book_command_says_in_one_line_that_it_needs_a_checkout(monkeypatch, tmp_path, capsys):
    from adlip import book

    monkeypatch.setattr(book, "TOC_PATH", tmp_path / "_toc.yml")   # as in an installed copy: no book sources
    with pytest.raises(SystemExit) as stop:
        book.main(["--profile", "smoke"])
    message = capsys.readouterr().err
    assert stop.value.code == 2 and "checkout of the adlip repository" in message
    assert len(message.strip().splitlines()) == 1


def test_gpus_grow_their_memory_unless_told_otherwise():
    import os

    code = "import os, adlip; print(os.environ['TF_FORCE_GPU_ALLOW_GROWTH'])"
    clean = {k: v for k, v in os.environ.items() if k != "TF_FORCE_GPU_ALLOW_GROWTH"}
    grown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=clean)
    kept = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={**clean, "TF_FORCE_GPU_ALLOW_GROWTH": "false"})
    assert grown.stdout.strip() == "true" and kept.stdout.strip() == "false"
