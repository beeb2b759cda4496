"""Progress bars: the text bar without a warning where ipywidgets is missing."""
import sys
import types
import warnings

import tqdm.auto
import tqdm.std

from adlip.progress import progress_bar


def test_without_ipywidgets_the_text_bar_comes_without_a_warning(monkeypatch):
    monkeypatch.setitem(sys.modules, "ipywidgets", None)   # import ipywidgets -> ImportError
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bar = progress_bar(range(3), disable=True)
    assert type(bar) is tqdm.std.tqdm and list(bar) == [0, 1, 2]


def test_with_ipywidgets_the_bar_is_tqdm_autos(monkeypatch):
    monkeypatch.setitem(sys.modules, "ipywidgets", types.ModuleType("ipywidgets"))
    assert type(progress_bar(range(2), disable=True)) is tqdm.auto.tqdm
