"""The figure class of hpcore's plots: a bare matplotlib ``Figure`` that a notebook shows as a cell's value.

Jupyter shows a ``Figure`` as an image only once pyplot's inline backend has registered a display
formatter; a bare figure from a notebook that never imported pyplot would print as
``<Figure size ...>``. ``_repr_png_`` is what IPython asks any object for, so the figure draws
itself, with no ``%matplotlib`` line. Importing this module imports matplotlib.
"""

from __future__ import annotations

import io

from matplotlib.figure import Figure

__all__ = ["NotebookFigure"]


class NotebookFigure(Figure):
    """A ``Figure`` with a PNG representation for notebooks (and any IPython display).

    Example:
        >>> fig = NotebookFigure(figsize=(2, 1))
        >>> _ = fig.add_subplot().plot([0, 1], [1, 0])
        >>> fig._repr_png_()[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
        True
    """

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.savefig(buf, format="png", dpi=100, bbox_inches="tight")
        return buf.getvalue()
