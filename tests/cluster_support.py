"""Daemons for the gradebook and cluster tests, each started by the test and stopped by it.

- :func:`postgres` — a private PostgreSQL cluster (grader.gradebook.TrialCluster: Debian's
  initdb and pg_ctl) in a fresh temporary folder, on 127.0.0.1 and a free port; yields
  its URL; stopped (pg_ctl, bounded wait, killed if need be) and removed afterwards.
- :func:`slurm` — a single-node Slurm: munged with its own key and socket, slurmctld and
  slurmd in the foreground as children of the test (no systemd), proctrack/linuxproc,
  task/none, no accounting, ports picked free, every file (slurm.conf, state, spool,
  logs, pid files, the munge key and socket) in a fresh temporary folder; the commands
  find it through ``$SLURM_CONF``, set for the duration. All three daemons are stopped
  (SIGTERM, then SIGKILL after a bounded wait) and the folder removed afterwards.

Both need their Debian packages (``tools.doctor``: postgresql; slurm-wlm and munge);
Slurm also needs root (slurmd starts the jobs). Without them the test skips with one
line naming the fix; in CI (``CI=true``) that is a failure.
"""
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import system_deps

START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 20


def require_postgres():
    system_deps.require("postgresql")


def require_slurm():
    system_deps.require("slurm")
    system_deps.require("munge")
    if os.geteuid() != 0:
        why = "the Slurm test starts slurmd, which needs root: run the tests as root (CI does)"
        if system_deps.in_ci():
            pytest.fail(why + " (CI=true)", pytrace=False)
        pytest.skip(why)


def _open_folder(prefix):
    """A fresh temporary folder every user may enter (the postgres user, munged's
    socket checks); its contents keep their own modes."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    folder.chmod(0o755)
    return folder


@contextlib.contextmanager
def postgres():
    """Yield the URL of a private PostgreSQL cluster; stop and remove it afterwards."""
    from grader import gradebook

    require_postgres()
    folder = _open_folder("coursepack-pg-")
    cluster = gradebook.TrialCluster(folder / "cluster")
    try:
        yield cluster.start(log=lambda *_: None)
    finally:
        try:
            cluster.stop(log=lambda *_: None)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    assert not cluster.running(), "the PostgreSQL test cluster is still running"


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _meminfo_mb():
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 8192


def _wait(what, check, log_file=None, timeout=START_TIMEOUT_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    tail = ""
    if log_file is not None and Path(log_file).exists():
        tail = "\n".join(Path(log_file).read_text(errors="replace").splitlines()[-15:])
    raise RuntimeError(f"{what} did not come up within {timeout} s\n{tail}")


def _stop(proc):
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=STOP_TIMEOUT_S)


SLURM_CONF = """\
# A single-node Slurm for the course pack's tests (tests/cluster_support.py).
ClusterName=coursepack-test
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={d_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={munge_socket}
StateSaveLocation={base}/state
SlurmdSpoolDir={base}/spool
SlurmctldPidFile={base}/run/slurmctld.pid
SlurmdPidFile={base}/run/slurmd.pid
SlurmctldLogFile={base}/log/slurmctld.log
SlurmdLogFile={base}/log/slurmd.log
# No systemd, no cgroups: processes tracked through their parents, no task binding.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
# The node's size is the one written here (the machine may be shared or smaller).
SlurmdParameters=config_overrides
MinJobAge=600
KillWait=10
# Small, so that the tests see a run split into several arrays (grader.backends.submit).
MaxArraySize={max_array}
NodeName=coursepack-node NodeHostname={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={mem} State=UNKNOWN
PartitionName=grading Nodes=coursepack-node Default=YES MaxTime=INFINITE State=UP
"""


@contextlib.contextmanager
def slurm(cpus=None, max_array=3):
    """Yield the folder of a running single-node Slurm (``$SLURM_CONF`` set meanwhile);
    every daemon is stopped and the folder removed afterwards."""
    require_slurm()
    base = _open_folder("coursepack-slurm-")
    for sub in ("state", "spool", "log"):
        (base / sub).mkdir(mode=0o700)
    (base / "run").mkdir(mode=0o755)
    key = base / "munge.key"
    procs = []
    saved = os.environ.get("SLURM_CONF")
    try:
        subprocess.run(["mungekey", "--create", f"--keyfile={key}"], check=True, capture_output=True,
                       timeout=60)
        munge_socket = base / "run" / "munge.socket"
        munged = subprocess.Popen(
            ["munged", "--foreground", f"--socket={munge_socket}", f"--key-file={key}",
             f"--pid-file={base / 'run' / 'munged.pid'}", f"--log-file={base / 'log' / 'munged.log'}",
             f"--seed-file={base / 'munged.seed'}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        procs.append(munged)

        def munge_ok():
            if munged.poll() is not None:
                raise RuntimeError("munged exited: " + (base / "log" / "munged.log").read_text(errors="replace"))
            return subprocess.run(f"munge -n --socket={munge_socket} | unmunge --socket={munge_socket}",
                                  shell=True, capture_output=True, timeout=10).returncode == 0
        _wait("munged", munge_ok, base / "log" / "munged.log")

        conf = base / "slurm.conf"
        conf.write_text(SLURM_CONF.format(
            host=socket.gethostname().split(".")[0], ctld_port=_free_port(), d_port=_free_port(),
            munge_socket=munge_socket, base=base, cpus=cpus or os.cpu_count() or 2,
            mem=max(_meminfo_mb(), 16384), max_array=max_array))
        os.environ["SLURM_CONF"] = str(conf)
        env = dict(os.environ)
        ctld = subprocess.Popen(["slurmctld", "-D", "-i", "-f", str(conf)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        procs.append(ctld)
        _wait("slurmctld", lambda: subprocess.run(["scontrol", "ping"], capture_output=True, text=True,
                                                  timeout=10).stdout.count("UP") > 0,
              base / "log" / "slurmctld.log")
        slurmd = subprocess.Popen(["slurmd", "-D", "-N", "coursepack-node", "-f", str(conf)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        procs.append(slurmd)
        _wait("slurmd (node idle)",
              lambda: subprocess.run(["sinfo", "--noheader", "--format=%T"], capture_output=True, text=True,
                                     timeout=10).stdout.strip() == "idle",
              base / "log" / "slurmd.log")
        yield base
    finally:
        if len(procs) == 3 and procs[1].poll() is None:
            _cancel_everything()
        for proc in reversed(procs):       # slurmd, slurmctld, munged
            _stop(proc)
        _kill_stepds(base)
        if saved is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = saved
        shutil.rmtree(base, ignore_errors=True)
    still = [p.pid for p in procs if p.poll() is None]
    assert not still, f"Slurm test daemons still running: {still}"


def _cancel_everything():
    """scancel every job of the test cluster and wait (bounded) until the queue is empty:
    a job's slurmstepd outlives slurmd by design."""
    subprocess.run(["scancel", "--full", "--quiet", "--user=root"], capture_output=True, timeout=30)
    deadline = time.monotonic() + STOP_TIMEOUT_S + 30
    while time.monotonic() < deadline:
        try:
            if not slurm_jobs_left():
                return
        except (OSError, subprocess.SubprocessError):
            return
        time.sleep(1.0)


def _kill_stepds(base):
    """Kill any slurmstepd (and its processes) of this test cluster that survived."""
    import psutil

    for proc in psutil.process_iter(["name", "cmdline"]):
        try:
            if "slurmstepd" not in (proc.info["name"] or "") and not any(
                    "slurmstepd" in part for part in (proc.info["cmdline"] or [])[:1]):
                continue
            if proc.environ().get("SLURM_CONF", "").startswith(str(base)) or \
                    any(str(base) in f.path for f in proc.open_files()):
                for child in proc.children(recursive=True) + [proc]:
                    child.kill()
        except (psutil.Error, OSError):
            continue


def slurm_jobs_left():
    """Job ids still in the queue (a test must leave none)."""
    out = subprocess.run(["squeue", "--noheader", "--format=%i"], capture_output=True, text=True, timeout=30)
    return out.stdout.split()
