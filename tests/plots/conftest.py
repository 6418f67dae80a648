"""What every plot test shares: library plots never register a figure with pyplot."""

import matplotlib.pyplot as plt
import pytest


@pytest.fixture(autouse=True)
def no_pyplot_figures():
    """Library plots never register with pyplot (no stray windows, no double display in Jupyter)."""
    assert plt.get_fignums() == []
    yield
    assert plt.get_fignums() == [], "a plot function registered a figure with pyplot"
