"""Helpers for tests of figures."""

import io

from matplotlib.figure import Figure


def renders(fig: Figure) -> Figure:
    """``fig`` after drawing it to PNG: the whole drawing code runs, layout included."""
    assert isinstance(fig, Figure)
    fig.savefig(io.BytesIO(), format="png")
    return fig
