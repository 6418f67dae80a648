"""nbgrader preprocessors that make autograding safe for the course and feedback fit for learners.

They are plugged into nbgrader by ``course/nbgrader_config.py``, so an instructor's
``nbgrader autograde`` / ``generate_feedback`` and ``mnistlib grade`` run the very
same pipeline:

* :class:`RestoreMissingCells` (sanitizing, before nbgrader's ``OverwriteCells``):
  a test cell the learner deleted is put back from the gradebook's copy of the
  source, after the cell that precedes it in the source, so a deleted test
  still runs (and usually fails) instead of silently scoring nothing.
  nbgrader's own ``OverwriteCells.add_missing_cells`` crashes when the answer
  cell before it was deleted too; this one does not.
* :class:`GradingExecute` (nbgrader's ``Execute``, judged elsewhere): the
  notebook's own cells run in the learner's kernel, started through
  :mod:`mnistlib.grading.kernel` (memory and output caps; forked from a warm
  :mod:`mnistlib.grading.forkserver`, so TensorFlow is not imported again for
  every notebook), by default inside the grading process's bubblewrap sandbox,
  which serves every learner it grades, each kernel in namespaces of its own
  (:mod:`mnistlib.grading.sandbox`, :mod:`mnistlib.grading.isolation`; trait ``sandbox``).
  Test cells never run there: each runs in a clean *checker*
  kernel that calls the learner's functions across a data-only bridge
  (:mod:`mnistlib.grading.bridge`), so no learner code runs in the process
  that decides whether a test passed. If a kernel dies (a crash, or the memory
  guard) the reason is recorded in that cell, the kernel is restarted and
  grading goes on with the next cells. A kernel that does not answer within
  ``startup_timeout`` (an overloaded machine, a hung fork: never the learner's
  doing, as no learner code has run yet) is replaced by a new one, in a new
  sandbox, up to ``start_attempts`` times in all.
* :class:`HideHiddenTests` (feedback): in test cells, the code between
  ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` is replaced by a
  one-line note, and error tracebacks are cut to their last line
  (``CheckFailed: expected ... got ... hint ...``), so learners see each test's
  name and message but never the hidden tests' code.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from queue import Empty

import bleach
from bleach.css_sanitizer import CSSSanitizer
from jupyter_core.utils import ensure_async
from nbclient.exceptions import DeadKernelError
from nbclient.util import run_sync
from nbconvert.preprocessors.sanitize import SanitizeHTML
from nbformat.notebooknode import NotebookNode, from_dict
from nbformat.v4 import new_output
from nbgrader import utils
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Bool, Dict, Integer, List, Unicode

from ..authoring import COLAB_INSTALL
from ..markers import BEGIN_HIDDEN, END_HIDDEN
from . import answer_key, kernel_user, limits
from . import forkserver as grading_forkserver
from . import mistakes as grading_mistakes
from . import sandbox as grading_sandbox
from . import usage as grading_usage
from .bridge import learner_names
from .diagnose import HIDDEN_NOTE, RESTORED_NOTE, hide_hidden_region
from .kernel import GRADER_CUT_NOTE, limited_kernel_argv, never_answered


def new_calls_folder(parent: str, owner=None) -> str:
    """A new, empty folder in ``parent`` for the bridge's calls; its path.

    ``parent`` is a folder the learner's kernel can write in (its own run folder), so the kernel
    may rename, replace or link anything there at any moment. The folder is therefore made through
    a descriptor of ``parent`` (never through a link planted in its place), under a name nobody
    can guess, with mode 0700 from the start: a sandboxed kernel is the grading user in its own
    user namespace, so it needs no wider mode, and nothing is ever changed by path afterwards.
    With ``owner`` (a :mod:`pwd` entry: the unprivileged kernel user, no sandbox), the new folder is
    handed to that user through a descriptor opened without following links.
    The bridge opens the folder without following links (:mod:`mnistlib.grading.bridge`), and
    :func:`shutil.rmtree` removes it through descriptors too.
    """
    parent_fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        name = f"mnistlib-calls-{secrets.token_hex(8)}"
        os.mkdir(name, 0o700, dir_fd=parent_fd)
        if owner is not None:
            folder_fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=parent_fd)
            try:
                os.fchown(folder_fd, owner.pw_uid, owner.pw_gid)
            finally:
                os.close(folder_fd)
    finally:
        os.close(parent_fd)
    return os.path.join(parent, name)


def _grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


class RestoreMissingCells(NbGraderPreprocessor):
    """Put deleted test (grade) cells back into a submission, from the gradebook's source cells."""

    def preprocess(self, nb: NotebookNode, resources: dict):
        notebook_id = resources["nbgrader"]["notebook"]
        assignment_id = resources["nbgrader"]["assignment"]
        with Gradebook(resources["nbgrader"]["db_url"]) as gb:
            try:
                source_nb = gb.find_notebook(notebook_id, assignment_id)
            except MissingEntry:
                return nb, resources
            order = [cell.name for cell in source_nb.source_cells]
            source_by_id = {cell.name: cell for cell in source_nb.source_cells}
            graded = {cell.name: cell for cell in source_nb.grade_cells}
            for name in order:
                present = [_grade_id(cell) for cell in nb.cells]
                if name not in graded or name in present:
                    continue
                source = source_by_id[name]
                cell = from_dict(
                    {
                        "cell_type": source.cell_type,
                        "id": f"restored-{name}"[:64],
                        "metadata": {
                            "deletable": False,
                            "editable": False,
                            "nbgrader": {
                                "grade": True,
                                "grade_id": name,
                                "locked": True,
                                "points": graded[name].max_score,
                                "schema_version": 3,
                                "solution": False,
                                "task": False,
                            },
                        },
                        "source": RESTORED_NOTE + source.source,
                    }
                )
                if source.cell_type == "code":
                    cell["outputs"] = []
                    cell["execution_count"] = None
                nb.cells.insert(self._position(nb, order, name), cell)
                self.log.warning("Test cell %s was missing: restored it from the source", name)
        return nb, resources

    @staticmethod
    def _position(nb: NotebookNode, order: list[str], name: str) -> int:
        """Index right after the nearest source cell before ``name`` that the submission still has."""
        where = {gid: i for i, cell in enumerate(nb.cells) if (gid := _grade_id(cell))}
        for earlier in reversed(order[: order.index(name)]):
            if earlier in where:
                return where[earlier] + 1
        for later in order[order.index(name) + 1 :]:
            if later in where:
                return where[later]
        return len(nb.cells)

    def preprocess_cell(self, cell, resources, cell_index):  # pragma: no cover - preprocess does the work
        return cell, resources


#: What a notebook saved from Colab shows, after grading, in place of its install line's output.
COLAB_INSTALL_SKIPPED = "(not run when grading: the course is already installed where it is graded)\n"

_UNPROTECTED_SAID = False  # the note of kernel_user.UNPROTECTED_NOTE, once per process


class GradingExecute(Execute):
    """nbgrader's Execute with test cells judged in a checker kernel (through the bridge) and survival
    of a dead kernel."""

    kernel_died_message = Unicode(
        "The kernel stopped while running this cell (it crashed, or used more memory than the grader "
        "allows). The grader restarted it; cells after this one ran in a fresh kernel.",
        help="Error text recorded in a cell during which the kernel died.",
    ).tag(config=True)

    checker_died_message = Unicode(
        "The grader's own checker process stopped while running this test (for example, the "
        "learner's function returned more data than it can hold). The test did not pass.",
        help="Error text recorded in a test cell during which the checker kernel died.",
    ).tag(config=True)

    limit_kernel = Bool(
        True, help="Start Python kernels through mnistlib.grading.kernel, with the limits below."
    ).tag(config=True)
    memory_mb = Integer(
        limits.MEMORY_MB, help="Memory (data segment) a kernel may use, in MB; 0 for no limit."
    ).tag(config=True)
    max_output_kb = Integer(
        limits.MAX_OUTPUT_KB, help="Output one cell may print, in KB; 0 for no limit."
    ).tag(config=True)
    max_cell_output_kb = Integer(
        limits.MAX_CELL_OUTPUT_KB,
        help="Output of every kind (printed text, displays, display updates, widget messages) one cell "
        "may send the grader, in KB; past it the rest is dropped, with a note. 0 for no limit.",
    ).tag(config=True)
    max_cell_messages = Integer(
        limits.MAX_CELL_MESSAGES,
        help="Output messages of every kind one cell may send the grader; 0 for no limit.",
    ).tag(config=True)
    max_notebook_output_kb = Integer(
        limits.MAX_NOTEBOOK_OUTPUT_KB,
        help="Output of every kind the whole notebook may send the grader, in KB; 0 for no limit.",
    ).tag(config=True)
    max_notebook_messages = Integer(
        limits.MAX_NOTEBOOK_MESSAGES,
        help="Output messages the whole notebook may send the grader; 0 for no limit.",
    ).tag(config=True)
    iopub_timeout = Integer(
        30,
        help="Seconds to wait, after a cell's reply, for the rest of its output (nbclient's default, "
        "4 s, is too short for a cell whose flood of output the grader is still dropping).",
    ).tag(config=True)

    warm_kernels = Bool(
        True,
        help="Fork Python kernels from a process that has TensorFlow imported already "
        "(mnistlib.grading.forkserver): each kernel starts in a fraction of a second instead of seconds.",
    ).tag(config=True)

    start_attempts = Integer(
        2,
        help="Kernels started, in all, when one does not answer within startup_timeout (an overloaded "
        "machine or a hung fork, before any learner code ran). The next one starts in a new sandbox "
        "(with its own fork server), or, without the sandbox, cold. The notebook fails only when the "
        "last one does not answer either.",
    ).tag(config=True)

    sandbox = Bool(
        True,
        help="Start Python kernels in a bubblewrap sandbox (mnistlib.grading.sandbox): no network, no view "
        "of the course, solutions, gradebook or home, a private tmpfs, a process limit. When bwrap cannot "
        f"run, grading stops with an error naming the fix ({grading_sandbox.INSTALL_HINT}); set False to "
        "grade without it.",
    ).tag(config=True)

    def create_kernel_manager(self):
        if not hasattr(self, "_run_dirs"):
            self._run_dirs: list[Path] = []
        km = super().create_kernel_manager()
        spec = km.kernel_spec
        if self.limit_kernel and spec is not None and spec.language.lower() == "python":
            forkserver = inbox = self._box = None
            if self.sandbox:
                box = grading_sandbox.for_learner(
                    self._learner(), keras=grading_sandbox.needs_keras(self.nb), memory_mb=self.memory_mb
                )
                box.configure(km)
                self._box = box
                self._run_dirs.append(Path(km.ip).parent)  # removed when the notebook ends
                forkserver, inbox = box.socket, str(box.inbox)
            elif self.warm_kernels and grading_forkserver.SUPPORTED and not getattr(self, "_cold", False):
                forkserver = grading_forkserver.shared_server(keras=grading_sandbox.needs_keras(self.nb))
            self._as_user = not self.sandbox and self._keep_answer_key_away()
            held = self._box is not None and self._box.memory_cgroup is not None  # a cgroup counts all
            spec.argv = limited_kernel_argv(
                spec.argv[0],
                self.memory_mb,
                self.max_output_kb,
                forkserver,
                inbox,
                self._as_user,
                0 if held else limits.address_space_mb(self.memory_mb),
            )
        return km

    def _keep_answer_key_away(self) -> bool:
        """Without the sandbox: as root, protect the answer key and run the learner's kernel as an
        unprivileged user (True); otherwise say once that the key is within the kernel's reach."""
        global _UNPROTECTED_SAID
        unprotected = (
            kernel_user.UNPROTECTED_NOTE if not kernel_user.wanted() else kernel_user.unreachable_note()
        )
        if unprotected:
            if not _UNPROTECTED_SAID:
                self.log.warning(unprotected)
                _UNPROTECTED_SAID = True
            return False
        db_url = ((getattr(self, "resources", None) or {}).get("nbgrader") or {}).get("db_url", "")
        course_root = Path(db_url[len("sqlite:///") :]).parent if db_url.startswith("sqlite:///") else None
        kernel_user.protect(kernel_user.answer_key_paths(course_root))
        return True

    def preprocess(self, nb, resources=None, km=None):
        self._answer_key = answer_key.scan(nb)  # exercises whose answer names the answer key: 0 points
        self._checker = None
        self._calls_dir = None
        self._cold = False
        nb.metadata.pop(grading_usage.METADATA, None)  # only the grader's own figure is kept
        self._budget = _OutputBudget(self)
        try:
            return super().preprocess(nb, resources, km)
        finally:
            self._stop_checker()
            # the kernel has stopped: its run folder (sockets, calls, whatever it wrote there) goes
            for folder in getattr(self, "_run_dirs", []):
                shutil.rmtree(folder, ignore_errors=True)
            self._run_dirs = []

    async def async_start_new_kernel_client(self):
        """nbclient's, with a new kernel (a new sandbox, or a cold kernel) when one never answers."""
        attempts = max(1, self.start_attempts)
        for attempt in range(1, attempts + 1):
            try:
                return await super().async_start_new_kernel_client()
            except RuntimeError as error:  # nbclient has shut the silent kernel down (self.km is None)
                if not never_answered(error) or attempt >= attempts:
                    raise
                self.log.warning("%s; starting a new kernel (attempt %d of %d)", error, attempt + 1, attempts)
            self._fresh_start()
            self.km = self.create_kernel_manager()
            await self.async_start_new_kernel()
        raise AssertionError("unreachable: the last attempt returns or raises")

    start_new_kernel_client = run_sync(async_start_new_kernel_client)

    def _fresh_start(self) -> None:
        """What the next kernel starts from is new: a new sandbox (its own fork server), or a cold kernel."""
        self._cold = True
        if self.sandbox:
            grading_sandbox.close_current()

    def _learner(self) -> str:
        """Whose notebook this is: nbgrader's student id, else the folder above the notebook's."""
        resources = getattr(self, "resources", None) or {}
        student = (resources.get("nbgrader") or {}).get("student")
        path = (resources.get("metadata") or {}).get("path") or ""
        return str(student or os.path.dirname(os.path.abspath(path)))

    def process_message(self, msg, cell, cell_index):
        """nbclient's, for messages within the output limits; past them, a note and nothing more.

        The limits hold here, in the grader, whatever the learner's process does: its own output
        cap (:mod:`mnistlib.grading.kernel`) can be bypassed from inside, these cannot.
        """
        budget = getattr(self, "_budget", None)
        if budget is not None and msg.get("msg_type") in _COUNTED and not budget.admit(msg, cell, cell_index):
            # Dropped unread. (Not interrupted: by the time the grader sees a flood the kernel has
            # often sent it all and started the next cell, which an interrupt would then hit.)
            return None
        return super().process_message(msg, cell, cell_index)

    def preprocess_cell(self, cell, resources, index):
        try:
            return self._preprocess_cell(cell, resources, index)
        finally:
            if index == len(self.nb.cells) - 1:  # the last cell: how much memory the kernel took
                self._record_peak_memory()

    def _record_peak_memory(self) -> None:
        """Keep the peak memory the learner's kernel reports in the notebook's metadata (mnistlib.grading.usage)."""
        try:
            msg_id = self.kc.execute(
                "",
                silent=False,
                store_history=False,
                user_expressions={"peak": grading_usage.PEAK_EXPRESSION},
            )
            peak = grading_usage.peak_mb(run_sync(self._reply_to)(msg_id, 10.0))
        except Exception as error:  # noqa: BLE001 - a dead or stuck kernel: no figure, no failure
            self.log.debug("peak memory: %s", error)
            return
        if peak is not None:
            self.nb.metadata[grading_usage.METADATA] = {"kernel_peak_mb": peak}

    async def _reply_to(self, msg_id: str, seconds: float) -> dict | None:
        """The kernel's reply to ``msg_id`` within ``seconds``, else None (no interrupt, unlike nbclient's)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                msg = await ensure_async(self.kc.shell_channel.get_msg(timeout=1))
            except Empty:
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg
        return None

    def _preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and cell.source.strip() == COLAB_INSTALL:
            # A notebook saved from Colab: the grader has the course, and the line would only reach
            # for the network (minutes per submission where it has one, on Gradescope say).
            cell.outputs = [new_output("stream", name="stdout", text=COLAB_INSTALL_SKIPPED)]
            return cell, self.resources
        if cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell):
            exercise = (_grade_id(cell) or "")[5:]
            if exercise in getattr(self, "_answer_key", {}):  # not run: its answer reached for the key
                cell.outputs = []
                self._record_error(
                    cell, answer_key.ENAME, answer_key.message(exercise, self._answer_key[exercise])
                )
                return cell, self.resources
            cell, resources = self._judge(cell, resources, index)
            grading_mistakes.record(cell)  # the check's mistake id: from the outputs into the metadata
            return cell, resources
        # A learner's cell whose flood of output the grader is still dropping when its reply came
        # must not fail the notebook: what it printed decides no score. (Test cells, in the checker,
        # keep nbgrader's strict setting: their error output is what scores them.)
        strict, self.raise_on_iopub_timeout = self.raise_on_iopub_timeout, False
        try:
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self.log.warning("Kernel died in cell %s; restarting it", index)
            self._record_error(cell, "KernelDied", self.kernel_died_message)
            run_sync(self.km.restart_kernel)(now=True)
            run_sync(self.kc.wait_for_ready)(timeout=self.startup_timeout)
            return cell, self.resources
        finally:
            self.raise_on_iopub_timeout = strict

    # -- test cells: judged in the checker kernel (see mnistlib.grading.bridge)
    def _judge(self, cell, resources, index):
        """Run test ``cell`` in the checker kernel, with the learner's names bound across the bridge."""
        if self._checker is None:
            self._start_checker()
        if self._calls_dir is None:
            # next to the kernel's sockets: the one host folder a sandboxed kernel sees (and can write in)
            box = getattr(self, "_box", None)
            where = Path(self.km.ip).parent if box is not None else Path(self.km.connection_file).parent
            owner = None
            if getattr(self, "_as_user", False):  # the kernel's user cannot reach the grader's runtime folder
                where, owner = Path(tempfile.gettempdir()), kernel_user.account()
            self._calls_dir = new_calls_folder(str(where), owner)
        connection = {
            key: value.decode() if isinstance(value, bytes) else value
            for key, value in self.km.get_connection_info().items()
        }
        call_timeout = max(5, (self.timeout or limits.CELL_TIMEOUT_S) - 5)
        names = learner_names(cell.source)
        setup = (
            "from mnistlib.grading.bridge import bind as _mnistlib_bind\n"
            f"_mnistlib_bind({names!r}, {connection!r}, {self._calls_dir!r}, {call_timeout})\n"
            "del _mnistlib_bind\n"
        )
        helper = from_dict(
            {"cell_type": "code", "metadata": {}, "source": setup, "outputs": [], "id": "bind"}
        )
        with self._in_checker():
            try:
                try:
                    self.execute_cell(helper, index, store_history=False)
                finally:
                    self.nb.cells[index] = cell  # nbclient put the helper in the cell's place
                errors = [output for output in helper.outputs if output.get("output_type") == "error"]
                if errors:  # the learner's names could not be read: the test cannot pass
                    what = ", ".join(f"`{name}`" for name in names) or "your code"
                    detail = f"{errors[0].get('ename')}: {errors[0].get('evalue')}"
                    cell.outputs = []
                    self._record_error(cell, "GradingError", f"the grader could not use {what}: {detail}")
                    return cell, self.resources
                return super().preprocess_cell(cell, resources, index)
            except DeadKernelError:
                self.log.warning("The checker kernel died in cell %s; restarting it", index)
                self._record_error(cell, "CheckerDied", self.checker_died_message)
                self._stop_checker()
                return cell, self.resources

    @contextmanager
    def _in_checker(self):
        saved = self.km, self.kc
        self.km, self.kc = self._checker
        try:
            yield
        finally:
            self.km, self.kc = saved

    def _start_checker(self) -> None:
        self._checker_cwd = tempfile.mkdtemp(prefix="mnistlib-checker-")
        attempts = max(1, self.start_attempts)
        for attempt in range(1, attempts + 1):
            km = self.kernel_manager_class(kernel_name="python3", config=self.config)
            spec = km.kernel_spec
            forkserver = None
            if self.warm_kernels and grading_forkserver.SUPPORTED and attempt == 1:
                forkserver = grading_forkserver.shared_server(
                    keras=grading_forkserver.checks_need_keras(self.nb)
                )
            spec.argv = limited_kernel_argv(spec.argv[0], self.memory_mb, self.max_output_kb, forkserver)
            run_sync(km.start_kernel)(
                extra_arguments=["--HistoryManager.hist_file=:memory:"], cwd=self._checker_cwd
            )
            kc = km.client()
            kc.start_channels()
            try:
                run_sync(kc.wait_for_ready)(timeout=self.startup_timeout)
                break
            except RuntimeError as error:
                kc.stop_channels()
                run_sync(km.shutdown_kernel)(now=True)
                if not never_answered(error) or attempt >= attempts:
                    shutil.rmtree(self._checker_cwd, ignore_errors=True)
                    raise
                self.log.warning("checker: %s; starting a cold one (attempt %d)", error, attempt + 1)
        kc.allow_stdin = False
        self._checker = (km, kc)

    def _stop_checker(self) -> None:
        checker, self._checker = getattr(self, "_checker", None), None
        if checker is not None:
            km, kc = checker
            try:
                kc.stop_channels()
                run_sync(km.shutdown_kernel)(now=True)
            except Exception as error:  # noqa: BLE001 - a dead checker has nothing left to stop
                self.log.debug("checker shutdown: %s", error)
            shutil.rmtree(self._checker_cwd, ignore_errors=True)
        calls, self._calls_dir = getattr(self, "_calls_dir", None), None
        if calls:
            shutil.rmtree(calls, ignore_errors=True)

    def _record_error(self, cell, ename: str, evalue: str) -> None:
        cell.setdefault("outputs", []).append(
            from_dict(
                {
                    "output_type": "error",
                    "ename": ename,
                    "evalue": evalue,
                    "traceback": [f"{ename}: {evalue}"],
                }
            )
        )


#: The kernel messages that become outputs or widget state in the grader, and so are limited.
_COUNTED = frozenset(
    {"stream", "display_data", "update_display_data", "execute_result", "clear_output"}
    | {"comm_open", "comm_msg", "comm_close"}
)

#: The note left in a cell whose output passed a limit (what was cut, and the limit).
OUTPUT_CUT_NOTE = GRADER_CUT_NOTE


class _OutputBudget:
    """What one notebook's cells sent the grader: bytes and messages, per cell and in all."""

    def __init__(self, executor: GradingExecute):
        kb = 1024
        self.stream_limit = executor.max_output_kb * kb
        self.cell_bytes_limit = executor.max_cell_output_kb * kb
        self.cell_messages_limit = executor.max_cell_messages
        self.bytes_limit = executor.max_notebook_output_kb * kb
        self.messages_limit = executor.max_notebook_messages
        self.bytes = self.messages = 0
        self.cell = None
        self.cut: str | None = None

    def _new_cell(self, cell) -> None:
        self.cell, self.cut = cell, None
        self.cell_bytes = self.cell_messages = self.stream_bytes = 0

    def admit(self, msg: dict, cell, cell_index: int) -> bool:
        """Whether ``msg`` may be processed; past a limit, note it once in ``cell`` and say no."""
        if cell is not self.cell:
            self._new_cell(cell)
        if self.cut is not None:
            return False
        content = msg.get("content") or {}
        size = _size(content)
        stream = msg.get("msg_type") == "stream"
        checks = [
            ("this cell's printed text", self.stream_limit, self.stream_bytes + size if stream else 0, "KB"),
            ("this cell's output", self.cell_bytes_limit, self.cell_bytes + size, "KB"),
            ("this cell's output", self.cell_messages_limit, self.cell_messages + 1, "messages"),
            ("this notebook's output", self.bytes_limit, self.bytes + size, "KB"),
            ("this notebook's output", self.messages_limit, self.messages + 1, "messages"),
        ]
        for what, limit, used, unit in checks:
            if limit > 0 and used > limit:
                amount = f"{limit // 1024} KB" if unit == "KB" else f"{limit} output messages"
                self.cut = OUTPUT_CUT_NOTE.format(what=what, limit=amount)
                if stream and what.endswith("text"):  # keep what fits of the text
                    room = max(0, limit - self.stream_bytes)
                    text = str(content.get("text", ""))[:room]
                    if text:
                        _append_stream(cell, str(content.get("name", "stdout")), text)
                _append_stream(cell, "stderr", "\n" + self.cut + "\n")
                return False
        self.cell_bytes += size
        self.cell_messages += 1
        self.stream_bytes += size if stream else 0
        self.bytes += size
        self.messages += 1
        return True


def _size(content) -> int:
    """About how many bytes a message's content holds (its strings' lengths, plus a little each)."""
    total, stack = 0, [content]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            total += len(value)
        elif isinstance(value, dict):
            total += 8 * len(value)
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list | tuple):
            total += 8 * len(value)
            stack.extend(value)
        else:
            total += 8
    return total


def _append_stream(cell, name: str, text: str) -> None:
    cell.setdefault("outputs", []).append(from_dict({"output_type": "stream", "name": name, "text": text}))


class HideHiddenTests(NbGraderPreprocessor):
    """Replace hidden test code in test cells by a note; cut test-cell tracebacks to their message."""

    begin_test_delimeter = Unicode(BEGIN_HIDDEN, help="marks the start of hidden tests").tag(config=True)
    end_test_delimeter = Unicode(END_HIDDEN, help="marks the end of hidden tests").tag(config=True)
    # generate_feedback hands every preprocessor nbconvert's display_data_priority; taking it as
    # configurable (as nbgrader's GetGrades does) keeps traitlets from warning that it is unknown.
    display_data_priority = List(
        [
            "text/html",
            "application/pdf",
            "text/latex",
            "image/svg+xml",
            "image/png",
            "image/jpeg",
            "text/plain",
        ]
    ).tag(config=True)

    def preprocess_cell(self, cell, resources, cell_index):
        if not utils.is_grade(cell) or cell.cell_type != "code":
            return cell, resources
        hidden = _hidden_lines(cell.source, self.begin_test_delimeter, self.end_test_delimeter)
        cell.source = hide_hidden_region(cell.source, self.begin_test_delimeter, self.end_test_delimeter)
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
            elif output.get("output_type") == "stream":
                output["text"] = _without_lines("".join(output.get("text", "")), hidden)
        return cell, resources


#: What a test cell's printed line that quotes its hidden tests becomes in feedback.
HIDDEN_LINE_NOTE = "[a line quoting the hidden tests was removed]"


def _hidden_lines(source: str, begin: str, end: str) -> list[str]:
    """The stripped, non-trivial lines of the hidden-test regions of ``source``."""
    lines, hiding = [], False
    for line in source.split("\n"):
        if begin in line:
            hiding = True
        elif end in line:
            hiding = False
        elif hiding and len(line.strip()) >= 4:
            lines.append(line.strip())
    return lines


def _without_lines(text: str, hidden: list[str]) -> str:
    """``text`` with every line that contains one of ``hidden`` replaced by :data:`HIDDEN_LINE_NOTE`.

    Python prints source lines in warnings and tracebacks; a test cell's are hidden tests.
    """
    if not hidden:
        return text
    lines = text.split("\n")
    return "\n".join(HIDDEN_LINE_NOTE if any(h in line for h in hidden) else line for line in lines)


class SanitizeLearnerHTML(SanitizeHTML):
    """nbconvert's :class:`~nbconvert.preprocessors.SanitizeHTML` for what a learner could write.

    Every code cell's outputs: ``text/html`` and ``text/markdown`` cleaned by bleach (no
    ``<script>``, no event handlers, no ``javascript:`` links), and every other output kind that
    could run script (``application/javascript``, widgets, SVG) removed. Markdown and raw cells
    too, except the locked cells of the source (nbgrader's ``OverwriteCells`` put them back from
    the instructor's copy; their HTML is the instructor's). Runs last in ``autograde`` (so the
    autograded notebooks formgrader shows are clean) and in ``generate_feedback`` (see course/nbgrader_config.py; nbconvert's own
    ``HTMLExporter.sanitize_html`` stays off, as it would drop the course's figures).
    """

    enabled = Bool(True, help="nbconvert's preprocessors are off by default; this one is meant on.").tag(
        config=True
    )
    # bleach's defaults keep only inline tags: tables (pandas), paragraphs and headings are harmless
    # too (nbconvert's own clean_html filter keeps most of them), so they stay readable.
    tags = List(
        Unicode(),
        default_value=[
            *bleach.ALLOWED_TAGS,
            *("div", "span", "pre", "p", "br", "hr", "sub", "sup", "h1", "h2", "h3", "h4", "h5", "h6"),
            *("table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption"),
            "img",  # the course's figures are <img alt="..."> of an inline PNG (mnistlib.notebook)
        ],
        help="HTML tags kept in learner HTML; everything else is shown as text.",
    ).tag(config=True)
    attributes = Dict(
        default_value={**bleach.ALLOWED_ATTRIBUTES, "*": ["class", "title"], "th": ["colspan", "rowspan"]}
        | {"td": ["colspan", "rowspan"]},
        help="HTML attributes kept per tag (never an event handler).",
    ).tag(config=True)

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type != "code" and utils.is_locked(cell) and not utils.is_solution(cell):
            return cell, resources
        return super().preprocess_cell(cell, resources, cell_index)

    def sanitize_html_tags(self, html_str):
        """bleach with the tags and attributes above; an ``<img>`` keeps only ``alt``, its size and a
        ``src`` that is an inline raster image (the course's figures), never SVG or a link elsewhere."""
        allowed = self.attributes

        def keep(tag: str, name: str, value: str) -> bool:
            if tag == "img":
                return name in ("alt", "width", "height") or (
                    name == "src" and bool(_INLINE_IMAGE.match(value))
                )
            if name == "href" and value.strip().lower().startswith("data:"):
                return False
            return name in allowed.get(tag, ()) or name in allowed.get("*", ())

        cleaned = bleach.clean(
            html_str,
            tags=self.tags,
            attributes=keep,
            protocols=[*bleach.ALLOWED_PROTOCOLS, "data"],  # data: only where keep() allows it
            strip=self.strip,
            strip_comments=self.strip_comments,
            css_sanitizer=CSSSanitizer(allowed_css_properties=self.styles),
        )
        # bleach cleans HTML; a Markdown link ``[x](javascript:...)`` is not HTML yet, and a
        # renderer that does not sanitise (formgrader's) would make it a live link: defuse it.
        return _SCRIPT_URL.sub("blocked:", cleaned)


#: An ``<img src>`` a learner's page may show: a PNG, JPEG, GIF or WebP inlined as base64 (no SVG,
#: which can carry script, and no address elsewhere, which would fetch on opening the page).
_INLINE_IMAGE = re.compile(r"(?i)^\s*data:image/(?:png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]*$")
_SCRIPT_URL = re.compile(r"(?i)\b(?:java|vb)script\s*:|\bdata\s*:\s*text/html")


#: The note at the top of every feedback page.
SANITISED_NOTE = (
    "*Shown safely:* on this page, HTML your notebook printed or wrote in Markdown is shown "
    "sanitised: scripts, event handlers, `javascript:` links and JavaScript outputs were removed "
    "or shown as text, so a page never runs code in a browser."
)


class SanitizeFeedbackHTML(SanitizeLearnerHTML):
    """:class:`SanitizeLearnerHTML` for feedback pages, with a note at the top that says so."""

    def preprocess(self, nb, resources):
        nb, resources = super().preprocess(nb, resources)
        note = from_dict(
            {"cell_type": "markdown", "metadata": {}, "source": SANITISED_NOTE, "id": "sanitised"}
        )
        nb.cells.insert(0, note)
        return nb, resources


__all__ = [
    "HIDDEN_NOTE",
    "GradingExecute",
    "HideHiddenTests",
    "RestoreMissingCells",
    "SanitizeFeedbackHTML",
    "SanitizeLearnerHTML",
    "hide_hidden_region",
]
