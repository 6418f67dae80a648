# nbgrader configuration of the mnist-keras-course (run nbgrader commands from this folder).
import os
import warnings

from mnistlib.grading import limits  # the grading limits, defined once

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file

c.CourseDirectory.course_id = "mnist-keras-course"
# The folder of this file, as an absolute path (a relative "." makes nbgrader warn on every command).
# Installed from the wheel, this file is site-packages/mnistlib/course_files/nbgrader_config.py:
# `mnistlib grade` copies it into a throw-away course with its own root, and instructors run nbgrader
# in a copy of their own (`mnistlib course copy-course DEST`), whose root is then that copy.
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))

# The student release (release/) is committed, so learners and Binder have it without nbgrader.
# nbgrader would skip an assignment whose release folder exists, and then never record it in the
# gradebook (autograde fails with "No assignment with ID ... exists"): regenerate it instead. The
# release is made from source/ by the same nbgrader, so the committed files come out unchanged.
c.GenerateAssignment.force = True

# nbgrader's collect and autograde trip a harmless SQLAlchemy warning of nbgrader's own making
# ("Object of type <SubmittedAssignment> not in session"); it says nothing an instructor can act on.
warnings.filterwarnings("ignore", message=r"Object of type <Submitted\w+> not in session")

# The assignments are the folders of source/, in teaching order (mnistlib.course.assignment_ids
# reads them from there; nbgrader finds them the same way).

# The measured figures the source notebooks' Markdown names ({{ net1_train_s }}) are filled in from
# source/figures.json, which `mnistlib course build` computes from docs/benchmarks.json
# (mnistlib.figures): nbgrader's own generate_assignment makes the same release as the build.
from nbgrader.converters import GenerateAssignment  # noqa: E402

c.GenerateAssignment.preprocessors = [
    "mnistlib.figures.FillFigures",
    *GenerateAssignment.class_traits()["preprocessors"].default(),
]

# What the student release shows in place of a solution.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# While nbgrader executes a notebook it sets NBGRADER_EXECUTION, so mnistlib
# loads the quick-mode subset and every cell finishes in seconds. The timeout
# is per cell; a learner's endless loop is interrupted after it.
c.Execute.timeout = limits.CELL_TIMEOUT_S
c.Execute.interrupt_on_timeout = True

# --- Grading (owned by mnistlib.grading; see docs/instructor.md) ---------------------------------
# The same pipeline serves `nbgrader autograde` / `generate_feedback` and `mnistlib grade`:
# deleted test cells are restored from the source, test cells run in a clean checker kernel that
# calls the learner's functions across a data-only bridge (a learner's monkey-patch cannot reach
# them), a dead kernel is restarted and grading goes on, and learner feedback shows hidden tests'
# names and messages but never their code.
# Submissions are taken as data: a submitted notebook that is a symbolic or hard link, a device or
# larger than 32 MB is refused with the reason, and such extra files of a submission folder are
# never copied to where the learner's kernel runs (mnistlib.grading.submissions).
from mnistlib.grading.submissions import guard_nbgrader  # noqa: E402

guard_nbgrader()
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "mnistlib.grading.preprocessors.RestoreMissingCells",
    "nbgrader.preprocessors.OverwriteCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.Autograde.autograde_preprocessors = [
    "mnistlib.grading.preprocessors.GradingExecute",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
    "mnistlib.grading.preprocessors.SanitizeLearnerHTML",  # what formgrader shows: no learner script
]
c.GradingExecute.timeout = (
    limits.CELL_TIMEOUT_S
)  # seconds per cell; then the cell is interrupted and grading goes on
c.GradingExecute.startup_timeout = 180  # seconds for a kernel to start (TensorFlow on a busy grading machine)
c.GradingExecute.start_attempts = 2  # kernels started in all when one never answers (a new sandbox each)
c.GradingExecute.interrupt_on_timeout = True
c.GradingExecute.memory_mb = (
    limits.MEMORY_MB
)  # each kernel's memory cap (mnistlib.grading.kernel, RLIMIT_DATA)
c.GradingExecute.max_output_kb = limits.MAX_OUTPUT_KB  # output one cell may print before the rest is dropped
c.GradingExecute.sandbox = True  # bubblewrap around each learner's kernels (docs/instructor.md, Sandbox)
c.LimitOutput.max_lines = 200  # lines of output kept per cell in autograded notebooks and feedback
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "mnistlib.grading.preprocessors.HideHiddenTests",
    "mnistlib.grading.preprocessors.SanitizeFeedbackHTML",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
# Feedback pages run no script a learner wrote: outputs and Markdown are cleaned by bleach, and
# script-capable outputs dropped (SanitizeFeedbackHTML, above). nbconvert's own sanitize_html stays
# off: it would also drop every figure (an <img alt> of an inline PNG), and the preprocessor does
# the cleaning for what nbgrader's feedback template renders, Markdown included.
