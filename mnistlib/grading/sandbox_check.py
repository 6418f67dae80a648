"""``mnistlib grade --check-sandbox``: is grading sandboxed on this machine, and if not, why and the fix.

It does what grading does: runs bubblewrap's probe (:func:`mnistlib.grading.sandbox.problem`) and
then a tiny notebook in a real grading sandbox, whose one cell reports what learner code would
see (its user id, whether a port open on the host's 127.0.0.1 answers, whether a file of the
grading account is visible). When bwrap cannot run, it finds the cause from what the kernel and
the process show, each with the fix for this machine:

* bubblewrap is not installed;
* Ubuntu's AppArmor refuses unprivileged user namespaces
  (``kernel.apparmor_restrict_unprivileged_userns = 1``, Ubuntu 23.10 and later);
* user namespaces are turned off (``user.max_user_namespaces = 0``, or Debian's
  ``kernel.unprivileged_userns_clone = 0``) and the grader is not root;
* a container's seccomp filter (Docker's and Kubernetes' default profiles) refuses them.

``MNISTLIB_PROC_SYS`` replaces ``/proc/sys`` and ``MNISTLIB_PROC_STATUS`` ``/proc/self/status``
(the tests fake each cause through them and a PATH without bwrap).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import limits
from . import sandbox as grading_sandbox

PROC_SYS_ENV = "MNISTLIB_PROC_SYS"
PROC_STATUS_ENV = "MNISTLIB_PROC_STATUS"
APPARMOR_SYSCTL = "kernel.apparmor_restrict_unprivileged_userns"


@dataclass
class Finding:
    sandboxed: bool
    cause: str  # what is wrong, or what works
    fix: str = ""  # what to do, with the commands for this machine


def _sysctl(name: str) -> str | None:
    root = Path(os.environ.get(PROC_SYS_ENV) or "/proc/sys")
    try:
        return (root / name.replace(".", "/")).read_text().strip()
    except OSError:
        return None


def _seccomp_filtered() -> bool:
    """Whether a seccomp filter is on this process (``Seccomp: 2`` in /proc/self/status)."""
    status = Path(os.environ.get(PROC_STATUS_ENV) or "/proc/self/status")
    try:
        lines = status.read_text().splitlines()
    except OSError:
        return False
    return any(line.split(":", 1)[0] == "Seccomp" and line.split(":", 1)[1].strip() == "2" for line in lines)


def apparmor_profile(bwrap: str) -> str:
    """An AppArmor profile that lets ``bwrap`` (only it) create user namespaces (Ubuntu 24.04's way)."""
    return (
        "abi <abi/4.0>,\n"
        "include <tunables/global>\n\n"
        f"profile bwrap {bwrap} flags=(unconfined) {{\n"
        "  userns,\n\n"
        "  include if exists <local/bwrap>\n"
        "}\n"
    )


def cause(bwrap_message: str) -> Finding:
    """Why bwrap does not work here, from what the kernel shows, and the fix (not sandboxed)."""
    bwrap = shutil.which("bwrap")
    if not sys.platform.startswith("linux"):
        return Finding(
            False,
            "the grading sandbox needs Linux (bubblewrap); this is " + sys.platform,
            "grade on a Linux machine, or in a Linux container (see docs/instructor.md, section 6)",
        )
    if bwrap is None:
        return Finding(
            False,
            "bubblewrap (bwrap) is not installed",
            f"install it: `sudo {grading_sandbox.INSTALL_HINT}` (Debian, Ubuntu); `sudo dnf install "
            "bubblewrap` (Fedora)",
        )
    root = os.geteuid() == 0
    said = f"bwrap said: {bwrap_message}"
    if not root and _sysctl(APPARMOR_SYSCTL) == "1":
        return Finding(
            False,
            f"AppArmor refuses unprivileged user namespaces here ({APPARMOR_SYSCTL} = 1, as on Ubuntu "
            f"23.10 and later), so bwrap cannot make its sandbox as a user that is not root; {said}",
            f"allow bwrap alone, with an AppArmor profile: write this to /etc/apparmor.d/bwrap\n\n"
            f"{apparmor_profile(os.path.realpath(bwrap))}\n"
            "then load it: `sudo apparmor_parser -r /etc/apparmor.d/bwrap`. Or lift the restriction "
            f"for every program: `sudo sysctl -w {APPARMOR_SYSCTL}=0` (and the line "
            f"`{APPARMOR_SYSCTL}=0` in /etc/sysctl.d/60-userns.conf to keep it after a reboot)",
        )
    if not root and _sysctl("user.max_user_namespaces") == "0":
        return Finding(
            False,
            f"user namespaces are turned off (user.max_user_namespaces = 0) and grading runs as a user "
            f"that is not root; {said}",
            "turn them on: `sudo sysctl -w user.max_user_namespaces=15000` (and that line in "
            "/etc/sysctl.d/60-userns.conf), or grade as root",
        )
    if not root and _sysctl("kernel.unprivileged_userns_clone") == "0":
        return Finding(
            False,
            "unprivileged user namespaces are turned off (kernel.unprivileged_userns_clone = 0) and "
            f"grading runs as a user that is not root; {said}",
            "turn them on: `sudo sysctl -w kernel.unprivileged_userns_clone=1` (and that line in "
            "/etc/sysctl.d/60-userns.conf), or grade as root",
        )
    if _seccomp_filtered():
        return Finding(
            False,
            "this runs in a container whose seccomp filter refuses the namespaces bwrap needs (Docker's "
            f"and Kubernetes' default profiles do); {said}",
            "start the container with `--security-opt seccomp=unconfined` (Docker, Podman; add "
            "`--security-opt apparmor=unconfined` on an AppArmor host), or, in Kubernetes, "
            "`securityContext: {seccompProfile: {type: Unconfined}}` in the pod (docs/instructor.md, "
            "section 6, shows it). Where that cannot be done, the container itself is the boundary: "
            "grade one submission per container (the Gradescope and PrairieLearn exports)",
        )
    return Finding(
        False,
        f"bwrap is installed ({bwrap}) but cannot make a sandbox here; {said}",
        "bwrap needs user namespaces (or root): check `sysctl user.max_user_namespaces` and the "
        "container's security settings; `bwrap --ro-bind / / true` shows the same error",
    )


#: The tiny notebook's one cell: what learner code would see in the sandbox, as one JSON line.
PROBE_CELL = """\
import json, os, socket
seen = {{"uid": os.getuid()}}
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=3).close()
    seen["network"] = "reached the grading machine's 127.0.0.1:{port}"
except OSError:
    seen["network"] = None
seen["host_file"] = os.path.exists({marker!r})
print("SANDBOX-CHECK " + json.dumps(seen))
"""


def run_tiny_notebook() -> dict:
    """Run the probe cell in a real grading sandbox (a kernel as grading starts it); what it saw."""
    import nbformat
    from nbclient import NotebookClient

    from .kernel import limited_kernel_argv

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    box = None
    with tempfile.TemporaryDirectory(prefix="mnistlib-check-") as tmp:
        marker = Path(tmp) / "grading-account-file"
        marker.write_text("learner code must not see this")
        nb = nbformat.v4.new_notebook(
            cells=[nbformat.v4.new_code_cell(PROBE_CELL.format(port=port, marker=str(marker)))]
        )
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        try:
            box = grading_sandbox.Sandbox("sandbox-check", keras=False, idle_exit=30.0)

            class SandboxedClient(NotebookClient):
                def create_kernel_manager(self):
                    km = super().create_kernel_manager()
                    box.configure(km)
                    km.kernel_spec.argv = limited_kernel_argv(
                        km.kernel_spec.argv[0], 1024, 64, box.socket, str(box.inbox)
                    )
                    return km

            SandboxedClient(
                nb,
                timeout=limits.CELL_TIMEOUT_S,
                startup_timeout=limits.CELL_TIMEOUT_S,
                resources={"metadata": {"path": tmp}},
            ).execute()
        finally:
            listener.close()
            if box is not None:
                box.close()
    text = "".join(
        o.get("text", "") for o in nb.cells[0].get("outputs", []) if o.get("output_type") == "stream"
    )
    line = next((x for x in text.splitlines() if x.startswith("SANDBOX-CHECK ")), None)
    if line is None:
        raise grading_sandbox.SandboxError(
            f"the tiny notebook printed no report: {text.strip() or 'nothing'}"
        )
    return {**json.loads(line.removeprefix("SANDBOX-CHECK ")), "isolation": box.isolation}


def check() -> Finding:
    """The whole check: bwrap's probe, the cause when it fails, else the tiny notebook's report."""
    grading_sandbox.problem.cache_clear()
    reason = grading_sandbox.problem()
    if reason is not None:
        message = reason.split("(", 1)[1].rstrip(")") if "(" in reason else reason
        return cause(message)
    try:
        seen = run_tiny_notebook()
    except Exception as err:  # noqa: BLE001 - whatever stops the sandbox is the answer
        return Finding(
            False,
            f"bwrap runs, but a grading kernel could not run in the sandbox: {err}",
            "run `mnistlib grade --check-sandbox` again; if it fails the same way, report it with this message",
        )
    leaks = []
    if seen.get("network"):
        leaks.append(f"learner code {seen['network']}")
    if seen.get("host_file"):
        leaks.append("learner code saw a file of the grading account")
    if leaks:
        return Finding(
            False, "the sandbox leaks: " + "; ".join(leaks), "report this: it is a bug in mnistlib"
        )
    per_kernel = (
        "each kernel has namespaces of its own"
        if seen.get("isolation") == "isolated"
        else f"kernels are not isolated from each other ({seen.get('isolation')}), so each learner gets a "
        "sandbox of their own (slower, as safe)"
    )
    return Finding(
        True,
        f"a tiny notebook ran in the grading sandbox as user {seen.get('uid')}, with no network and no view "
        f"of the grading account's files; {per_kernel}",
    )


def main() -> int:
    print("Checking the grading sandbox (bubblewrap) with a tiny notebook ...", flush=True)
    finding = check()
    if finding.sandboxed:
        print(f"OK: grading is sandboxed here: {finding.cause}.")
        return 0
    print(f"NOT SANDBOXED: {finding.cause}.")
    print(f"Fix: {finding.fix}")
    print(
        "Until then `mnistlib grade` refuses a class folder (or grades it without the sandbox with "
        "--no-sandbox), and `nbgrader autograde` stops (docs/instructor.md, Sandbox)."
    )
    return 1
