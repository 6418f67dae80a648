"""What a process inside the grading sandbox sees: its workspace, its home and its environment.

Shared by the three pieces that set it up: :mod:`mnistlib.grading.sandbox` (bwrap, outside),
the fork server it runs inside (:mod:`mnistlib.grading.forkserver`) and each kernel's own
namespaces (:mod:`mnistlib.grading.isolation`). A leaf module: it imports nothing of mnistlib's,
so the process pieces import each other in one direction only (docs/architecture.md).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

#: The private tmpfs inside each sandbox, and its size.
WORKSPACE = "/sandbox"
TMPFS_MB = 512
TMP_MB = 128
#: The size of the sandbox's run folder (a tmpfs: sockets, and each kernel's own folder with the
#: checker's calls, where a kernel may write its answers: arrays of up to a full MNIST set).
RUN_MB = 512
#: Environment variable naming the workspace; set only inside a sandbox.
WORKSPACE_ENV = "MNISTLIB_SANDBOX_WORKSPACE"
HOME = f"{WORKSPACE}/home"
#: Variables the sandbox sets for its kernels (the launcher's values are the grading user's).
SANDBOX_ENV = {
    "HOME": HOME,
    "IPYTHONDIR": f"{HOME}/.ipython",
    "MPLCONFIGDIR": f"{HOME}/.config/matplotlib",
    "JUPYTER_RUNTIME_DIR": f"{HOME}/.local/share/jupyter/runtime",
    "XDG_CACHE_HOME": f"{HOME}/.cache",
    "XDG_CONFIG_HOME": f"{HOME}/.config",
    "KERAS_HOME": f"{HOME}/.keras",
    "TMPDIR": "/tmp",
    WORKSPACE_ENV: WORKSPACE,
    # mnistlib.needs() then only asks that an exercise be defined: the checks are hidden in here
    "MNISTLIB_ANSWER_KEY_HIDDEN": "1",  # mnistlib.prerequisites.ANSWER_KEY_HIDDEN_ENV
}
ENV_OVERRIDES = (*SANDBOX_ENV, "MNISTLIB_CACHE")
#: Variables never handed into a sandbox.
SECRET = re.compile(r"TOKEN|SECRET|PASSW|CREDENTIAL|API_KEY|ACCESS_KEY", re.IGNORECASE)


def make_home() -> None:
    """Inside a sandbox: the home folders, writable by the kernels' unprivileged user."""
    for key in ("HOME", "IPYTHONDIR", "MPLCONFIGDIR", "JUPYTER_RUNTIME_DIR", "XDG_CACHE_HOME", "KERAS_HOME"):
        os.makedirs(SANDBOX_ENV[key], exist_ok=True)
        for folder in [Path(SANDBOX_ENV[key]), *Path(SANDBOX_ENV[key]).parents]:
            if str(folder).startswith(WORKSPACE):
                os.chmod(folder, 0o1777)
