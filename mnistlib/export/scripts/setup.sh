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

# The course needs Python 3.11 or newer. Ubuntu 24.04's python3 is 3.12; Gradescope's newest base
# image, Ubuntu 22.04, has 3.10. There, uv (from PyPI, in a venv of its own) installs a CPython 3.12
# of python-build-standalone, checked against the SHA-256 uv carries: the same steps on any Linux
# image, no apt repository to add and trust.
recent_enough() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }
PYTHON=""
for candidate in python3 python3.13 python3.12 python3.11; do
  if command -v "$candidate" >/dev/null && recent_enough "$candidate"; then
    PYTHON="$(command -v "$candidate")"
    break
  fi
done
if [ -z "$PYTHON" ]; then
  echo "$(python3 --version 2>&1) is older than the course needs (3.11): installing Python 3.12 with uv"
  [ -x "$ROOT/mnistlib-uv/bin/uv" ] || {
    python3 -m venv "$ROOT/mnistlib-uv"
    "$ROOT/mnistlib-uv/bin/pip" install --quiet --disable-pip-version-check 'uv>=0.5'
  }
  export UV_PYTHON_INSTALL_DIR="$ROOT/mnistlib-python"
  if ! "$ROOT/mnistlib-uv/bin/uv" python install 3.12; then
    echo "error: uv could not install Python 3.12 (see above): the image needs network access to" \
      "PyPI and GitHub while it is built, or choose a base image with Python 3.11 or newer" >&2
    exit 1
  fi
  PYTHON="$("$ROOT/mnistlib-uv/bin/uv" python find --managed-python 3.12)"
fi
echo "Python for grading: $PYTHON ($("$PYTHON" --version 2>&1))"

# MNIST travels in the zip: check it before anything else, so that grading never downloads it.
(cd "$SOURCE/mnist" && sha256sum --check --strict --quiet SHA256SUMS)

# The course package (the wheel in the zip) and its dependencies (TensorFlow, Keras, nbgrader, ...).
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
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
