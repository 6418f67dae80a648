"""A line in pytest's own output from a fixture, whatever the capture mode (timings of long set-ups)."""

from __future__ import annotations

import contextlib


def report(config, tag: str, line: str) -> None:
    """Write ``[tag] line`` to pytest's terminal, past output capture (nothing under xdist workers)."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None:
        with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
            reporter.write_line(f"[{tag}] {line}")
