"""What the chapters beyond the thesis render: tables, figures and computed statements per study.

The thesis's own tables and figures are :mod:`adlip.tables` and :mod:`adlip.plots`; each module here
renders one study's records for its chapter, so the chapter itself is one call per cell.
"""
