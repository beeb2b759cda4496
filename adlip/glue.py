"""``glue`` for chapters that run both in the book and outside it (Colab, plain Jupyter, papermill).

The book pastes values computed in a cell into its prose with MyST-NB's ``glue``. MyST-NB comes
with Jupyter Book, which a reader on Colab need not install: there this ``glue`` shows the value
in the cell instead (unless ``display=False``), so the chapter runs and the reader still sees it.
"""
from __future__ import annotations


def glue(name: str, value, display: bool = True):
    """MyST-NB's ``glue(name, value, display)`` where MyST-NB is installed, else show ``value``."""
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        if display:
            from IPython.display import display as show

            show(value)
        return None
    return myst_glue(name, value, display=display)
