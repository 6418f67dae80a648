#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder's image from this zip
# (unpacked in /autograder/source). Made by `mnistlib export gradescope`: docs/instructor.md,
# "Grading at scale". MNISTLIB_AUTOGRADER_ROOT stands in for /autograder (the tests use it);
# MNISTLIB_SKIP_SYSTEM_PACKAGES=1 skips apt-get (a machine that has them already).
set -euo pipefail

ROOT="${MNISTLIB_AUTOGRADER_ROOT:-/autograder}"
SOURCE="$ROOT/source"
VENV="$ROOT/mnistlib-venv"
cd "$ROOT"  # as Gradescope does; never a folder whose own mnistlib/ Python would import instead

if [ "${MNISTLIB_SKIP_SYSTEM_PACKAGES:-0}" != 1 ]; then
  # Python, venv, and bubblewrap: the sandbox every learner kernel runs in when the container allows it.
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    python3 python3-venv python3-pip bubblewrap ca-certificates
fi

if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "error: the course needs Python 3.11 or newer, and this image has $(python3 --version 2>&1):" \
    "choose Gradescope's Ubuntu 24.04 base image in the autograder settings" >&2
  exit 1
fi

# MNIST travels in the zip: check it before anything else, so that grading never downloads it.
(cd "$SOURCE/mnist" && sha256sum --check --strict --quiet SHA256SUMS)

# The course package (the wheel in the zip) and its dependencies (TensorFlow, Keras, nbgrader, ...).
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
# Both wheels: the learner's mnist_keras_course and the grader's mnist_keras_course_grader (issue 23).
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$SOURCE"/wheels/mnist_keras_course*.whl

# Issue 23: without bubblewrap (Gradescope's containers may refuse it), learners' kernels run as
# this unprivileged user (mnistlib.grading.kernel_user), who must not read the zip (it holds the
# grader's wheel, with the solutions and hidden tests) nor the grader's files under $ROOT.
# (On a machine of one's own, MNISTLIB_SKIP_SYSTEM_PACKAGES=1, no account is added: they run as nobody.)
if [ "${MNISTLIB_SKIP_SYSTEM_PACKAGES:-0}" != 1 ] && ! id -u mnistlib-learner >/dev/null 2>&1; then
  useradd --system --no-create-home --shell /usr/sbin/nologin mnistlib-learner
fi
chmod -R go-rwx "$SOURCE"

# Put the verified files into the cache the grader reads (mnistlib checks them again by SHA-256).
MNISTLIB_CACHE="$ROOT/mnistlib-cache" "$VENV/bin/python" -m mnistlib data fetch --from "$SOURCE/mnist"
ready="$("$VENV/bin/python" -m mnistlib.export.gradescope describe --root "$ROOT")"
echo "autograder ready: $ready"
