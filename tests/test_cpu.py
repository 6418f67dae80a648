"""The CPU budget (mnistlib.cpu): the CPUs a process really has, and thread pools sized to them.

Quotas are read from real cgroup files where this machine lets us make them (as root: a cgroup v1
``cpu`` child, and a v2 child when the v2 hierarchy has the cpu controller), and from a fake
``/proc/self`` + cgroup tree for the layouts this machine does not have (v2 on a v1 host, a
container whose mount root is its own cgroup). The thread pools are checked in real processes
and in a real grading kernel forked from the fork server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from mnistlib import cpu

CGROUP = Path("/sys/fs/cgroup")


# ----------------------------------------------------------------------------- the decision


def test_the_smallest_of_affinity_quota_and_share_wins():
    env = {}
    assert cpu.budget(1, environ=env, affinity=8, quota=None).threads == 8
    chosen = cpu.budget(1, environ=env, affinity=8, quota=0.5)
    assert chosen.threads == 1 and "quota of 0.5 CPU" in chosen.reason, "half a CPU is still one thread"
    assert cpu.budget(1, environ=env, affinity=8, quota=1.5).threads == 2, "quotas round to the nearest CPU"
    assert cpu.budget(1, environ=env, affinity=8, quota=2.4).threads == 2
    assert cpu.budget(1, environ=env, affinity=2, quota=6.0).threads == 2, "affinity limits too"
    shared = cpu.budget(2, environ=env, affinity=8, quota=4.0)
    assert shared.threads == 2 and "shared by 2 grading kernels" in shared.reason, "4 CPUs / 2 kernels"
    assert cpu.budget(3, environ=env, affinity=2, quota=None).threads == 1, "never 0 threads"
    assert cpu.budget(2, environ=env, affinity=1, quota=None).threads == 1


def test_grading_tells_the_kernels_how_many_run_at_once():
    assert cpu.budget(environ={cpu.JOBS_ENV: "2"}, affinity=4, quota=None).threads == 2
    assert cpu.budget(environ={cpu.JOBS_ENV: "x"}, affinity=4, quota=None).threads == 4, "garbage: 1 job"


def test_the_learner_can_choose_a_number_or_the_libraries_defaults():
    chosen = cpu.budget(1, environ={cpu.THREADS_ENV: "3"}, affinity=2, quota=0.5)
    assert chosen.threads == 3 and cpu.THREADS_ENV in chosen.reason, "the learner's choice beats the quota"
    off = cpu.budget(1, environ={cpu.THREADS_ENV: "off"}, affinity=2, quota=0.5)
    assert off.threads is None and "default" in str(off)
    assert cpu.budget(1, environ={cpu.THREADS_ENV: " Auto "}, affinity=2, quota=None).threads == 2


@pytest.mark.parametrize("value", ["two", "0", "-1", "1.5"])
def test_a_bad_choice_is_named_and_ignored(value):
    with pytest.warns(UserWarning, match=rf"MNISTLIB_THREADS='{value}' is not a number of threads"):
        chosen = cpu.budget(1, environ={cpu.THREADS_ENV: value}, affinity=2, quota=0.5)
    assert chosen.threads == 1, "falls back to auto"


# ----------------------------------------------------------------------------- fake cgroup layouts


def fake_proc(tmp_path: Path, membership: str, mounts: list[str]) -> Path:
    proc = tmp_path / "proc"
    proc.mkdir(parents=True)
    (proc / "cgroup").write_text(membership)
    (proc / "mountinfo").write_text("".join(f"{i} 1 0:{i} {m}\n" for i, m in enumerate(mounts, 30)))
    return proc


def test_cgroup_v2_quota_is_read_from_cpu_max_and_the_tightest_ancestor_wins(tmp_path):
    root = tmp_path / "cg2"
    pod = root / "kubepods" / "pod1"
    pod.mkdir(parents=True)
    (root / "kubepods" / "cpu.max").write_text("150000 100000\n")
    (pod / "cpu.max").write_text("max 100000\n")
    proc = fake_proc(tmp_path, "0::/kubepods/pod1\n", [f"/ {root} rw,nosuid - cgroup2 cgroup2 rw"])
    assert cpu.cgroup_quota(proc) == 1.5, "the parent's 1.5 CPUs limit its child with no limit of its own"
    (pod / "cpu.max").write_text("50000 100000\n")
    assert cpu.cgroup_quota(proc) == 0.5
    (pod / "cpu.max").write_text("max 100000\n")
    (root / "kubepods" / "cpu.max").write_text("max 100000\n")
    assert cpu.cgroup_quota(proc) is None, "'max' everywhere: no quota"


def test_cgroup_v2_in_a_container_whose_mount_root_is_its_own_cgroup(tmp_path):
    root = tmp_path / "cg2"  # the container sees its cgroup as the root of the mount
    root.mkdir()
    (root / "cpu.max").write_text("100000 100000\n")
    proc = fake_proc(tmp_path, "0::/\n", [f"/ {root} rw - cgroup2 cgroup2 rw"])
    assert cpu.cgroup_quota(proc) == 1.0
    proc2 = fake_proc(tmp_path / "b", "0::/docker/abc\n", [f"/docker/abc {root} rw - cgroup2 cgroup2 rw"])
    assert cpu.cgroup_quota(proc2) == 1.0, "the path in the mount is relative to the mount's root"
    (root / "other").mkdir()
    (root / "other" / "cpu.max").write_text("20000 100000\n")
    proc3 = fake_proc(
        tmp_path / "c", "0::/docker/abc/../other\n", [f"/docker/abc {root} rw - cgroup2 cgroup2 rw"]
    )
    assert cpu.cgroup_quota(proc3) == 1.0, "never outside the mount"
    proc4 = fake_proc(tmp_path / "d", "0::/docker/abcdef\n", [f"/docker/abc {root} rw - cgroup2 cgroup2 rw"])
    assert cpu.cgroup_quota(proc4) == 1.0, "/docker/abcdef is not inside /docker/abc"


def test_cgroup_v1_quota_is_read_from_cfs_files_of_the_cpu_hierarchy(tmp_path):
    cpu_mount = tmp_path / "cpu,cpuacct"
    group = cpu_mount / "docker" / "abc"
    group.mkdir(parents=True)
    for folder, quota in ((cpu_mount, -1), (cpu_mount / "docker", -1), (group, 50000)):
        (folder / "cpu.cfs_quota_us").write_text(f"{quota}\n")
        (folder / "cpu.cfs_period_us").write_text("100000\n")
    memory_mount = tmp_path / "memory"  # another hierarchy, with a file that must not be read as a quota
    (memory_mount / "docker" / "abc").mkdir(parents=True)
    proc = fake_proc(
        tmp_path,
        "5:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/docker/abc\n",
        [
            f"/ {memory_mount} rw - cgroup cgroup rw,memory",
            f"/ {cpu_mount} rw - cgroup cgroup rw,cpu,cpuacct",
        ],
    )
    assert cpu.cgroup_quota(proc) == 0.5
    (group / "cpu.cfs_quota_us").write_text("-1\n")
    assert cpu.cgroup_quota(proc) is None, "-1: no quota"
    assert cpu.cgroup_quota(tmp_path / "no-proc") is None, "no cgroups (not Linux): no quota"


def test_a_hybrid_host_takes_the_tighter_of_v1_and_v2(tmp_path):
    v1, v2 = tmp_path / "cpu", tmp_path / "unified"
    (v1 / "g").mkdir(parents=True)
    (v2 / "g").mkdir(parents=True)
    (v1 / "g" / "cpu.cfs_quota_us").write_text("200000")
    (v1 / "g" / "cpu.cfs_period_us").write_text("100000")
    (v2 / "g" / "cpu.max").write_text("100000 100000")
    proc = fake_proc(
        tmp_path,
        "1:cpu:/g\n0::/g\n",
        [f"/ {v1} rw - cgroup cgroup rw,cpu", f"/ {v2} rw - cgroup2 cgroup2 rw"],
    )
    assert cpu.cgroup_quota(proc) == 1.0


# ----------------------------------------------------------------------------- real processes

PROBE = (
    "import json, threadpoolctl; from mnistlib import cpu, setup_notebook\n"
    "setup_notebook(keras=False)\n"
    "blas = [p['num_threads'] for p in threadpoolctl.threadpool_info() if p['user_api'] == 'blas']\n"
    "print(json.dumps({'quota': cpu.cgroup_quota(), 'threads': cpu.budget().threads, 'blas': blas}))"
)


def probe(env: dict | None = None, preexec=None) -> dict:
    """Run :data:`PROBE` in a new process with ``env`` added (without thread variables of our own)."""
    unset = (
        cpu.THREADS_ENV,
        cpu.JOBS_ENV,
        "OPENBLAS_NUM_THREADS",
        "OMP_NUM_THREADS",
        *cpu.TF_THREAD_VARIABLES,
    )
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={**{k: v for k, v in os.environ.items() if k not in unset}, **(env or {})},
        preexec_fn=preexec,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_affinity_to_one_cpu_gives_one_blas_thread():
    found = probe(preexec=lambda: os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}))
    assert found["threads"] == 1 and found["blas"] and set(found["blas"]) == {1}


def _real_group(parent: Path, write_quota) -> Path | None:
    if os.geteuid() != 0 or not parent.is_dir():
        return None
    group = parent / f"mnistlib-test-{uuid.uuid4().hex[:8]}"
    try:
        group.mkdir()
        write_quota(group)
    except OSError:
        if group.exists():
            group.rmdir()
        return None
    return group


@pytest.mark.parametrize("cpus", [0.5, 1.0])
def test_a_real_cgroup_v1_quota_limits_blas_in_setup_notebook(cpus):
    parent = CGROUP / "cpu"

    def limit(group):
        period = int((group / "cpu.cfs_period_us").read_text())
        (group / "cpu.cfs_quota_us").write_text(str(int(period * cpus)))

    group = _real_group(parent, limit)
    if group is None:
        pytest.skip("needs root and a cgroup v1 cpu hierarchy at /sys/fs/cgroup/cpu")
    try:
        found = probe(preexec=lambda: (group / "cgroup.procs").write_text(str(os.getpid())))
    finally:
        group.rmdir()
    assert found["quota"] == cpus
    assert found["threads"] == 1 and set(found["blas"]) == {1}
    assert found["blas"], "NumPy's BLAS is found by threadpoolctl"


def test_a_real_cgroup_v2_quota_limits_blas_in_setup_notebook():
    controls = [root / "cgroup.subtree_control" for root in (CGROUP, CGROUP / "unified")]
    parent = next((c.parent for c in controls if c.exists() and "cpu" in c.read_text().split()), None)
    group = _real_group(parent, lambda g: (g / "cpu.max").write_text("50000 100000")) if parent else None
    if group is None:
        pytest.skip("needs root and a cgroup v2 hierarchy with the cpu controller (this host has cpu in v1)")
    try:
        found = probe(preexec=lambda: (group / "cgroup.procs").write_text(str(os.getpid())))
    finally:
        group.rmdir()
    assert found["quota"] == 0.5 and set(found["blas"]) == {1}


def test_off_leaves_blas_at_its_default_and_a_number_is_obeyed():
    default = probe({cpu.THREADS_ENV: "off"})
    assert default["threads"] is None and set(default["blas"]) == {os.cpu_count()}
    chosen = probe({cpu.THREADS_ENV: "1"})
    assert set(chosen["blas"]) == {1}


# ----------------------------------------------------------------------------- a real grading kernel


@pytest.mark.slow
def test_a_grading_kernel_forked_from_the_fork_server_gets_its_share(tmp_path):
    from jupyter_client.manager import KernelManager

    from mnistlib.grading.command import worker_env
    from mnistlib.grading.forkserver import ForkServer
    from mnistlib.grading.kernel import limited_kernel_argv

    code = (
        "import json, threadpoolctl, tensorflow as tf\n"
        "blas = [p['num_threads'] for p in threadpoolctl.threadpool_info() if p['user_api'] == 'blas']\n"
        "tf.constant(1.0) + 1.0\n"
        "pool = [t for t in os.listdir('/proc/self/task')\n"
        "        if open(f'/proc/self/task/{t}/comm').read().startswith('tf_Compute')]\n"
        "print(json.dumps({'blas': blas, 'tf_compute': len(pool), 'env': os.environ.get('TF_NUM_INTRAOP_THREADS')}))"
    )
    env = {k: v for k, v in os.environ.items() if k not in (*cpu.TF_THREAD_VARIABLES, cpu.THREADS_ENV)}
    expected = cpu.budget(2, environ={}).threads  # two kernels at once on this machine's CPUs
    with ForkServer(wait=True) as server:
        km = KernelManager(kernel_name="python3")
        km.kernel_spec.argv = limited_kernel_argv(sys.executable, 2048, 256, server.socket)
        km.start_kernel(cwd=str(tmp_path), env=worker_env(env, workers=2))
        kc = km.client()
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=180)
            out = []
            reply = kc.execute_interactive(
                "import os\n" + code,
                timeout=120,
                output_hook=lambda m: (
                    out.append(m["content"].get("text", "")) if m["msg_type"] == "stream" else None
                ),
            )
            assert reply["content"]["status"] == "ok", reply["content"]
            found = json.loads("".join(out).splitlines()[-1])
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
    assert found["blas"] and set(found["blas"]) == {expected}, "the BLAS pool was sized in the forked kernel"
    assert found["env"] == str(expected), "TensorFlow reads its share when its runtime starts"
    assert found["tf_compute"] == expected, "and starts that many compute threads"


def test_a_bad_choice_in_setup_notebook_is_shown_not_silenced():
    """setup_notebook silences TensorFlow's start-up noise on stderr, but not this warning."""
    done = subprocess.run(
        [sys.executable, "-c", "from mnistlib import setup_notebook; setup_notebook()"],
        env={**os.environ, cpu.THREADS_ENV: "lots"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "MNISTLIB_THREADS='lots' is not a number of threads" in done.stderr
