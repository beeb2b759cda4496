"""Progress bars that look right wherever adlip runs.

``tqdm.auto`` draws a widget in a notebook, but only where ``ipywidgets`` is installed: elsewhere it
prints "IProgress not found" and falls back to text anyway. :func:`progress_bar` takes the widget
bar when it can be drawn and the plain text bar otherwise, without the warning.
"""
from __future__ import annotations


def progress_bar(*args, **kwargs):
    """A ``tqdm`` bar (same arguments): the notebook widget if ipywidgets is there, else text."""
    try:
        import ipywidgets  # noqa: F401  (only to know whether the widget bar can be drawn)
        from tqdm.auto import tqdm
    except ImportError:
        from tqdm.std import tqdm
    return tqdm(*args, **kwargs)
