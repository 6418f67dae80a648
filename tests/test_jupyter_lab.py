"""The helpers that drive a real JupyterLab for the browser tests (tests/jupyter_lab.py)."""

from __future__ import annotations

import json
import time
import urllib.error

import jupyter_lab
import pytest
from local_http import FileServer

KERNELS = [{"id": "k1", "execution_state": "idle"}]
ROUTE = "/api/kernels?token=t"


def test_list_kernels_asks_again_past_the_500_of_a_starting_kernel():
    with FileServer({ROUTE: [500, 500, json.dumps(KERNELS).encode()]}) as server:
        assert jupyter_lab.list_kernels(server.url(""), "t") == KERNELS
        assert server.requests == [ROUTE] * 3


def test_list_kernels_fails_on_a_500_that_lasts(monkeypatch):
    monkeypatch.setattr(jupyter_lab, "RACE_S", 0.5)
    with FileServer({ROUTE: 500}) as server:
        started = time.monotonic()
        with pytest.raises(urllib.error.HTTPError, match="500"):
            jupyter_lab.list_kernels(server.url(""), "t")
    assert 0.5 <= time.monotonic() - started < 5
    assert len(server.requests) >= 2


def test_list_kernels_fails_at_once_on_another_error():
    with FileServer({ROUTE: [403, json.dumps(KERNELS).encode()]}) as server:
        with pytest.raises(urllib.error.HTTPError, match="403"):
            jupyter_lab.list_kernels(server.url(""), "t")
        assert server.requests == [ROUTE]
