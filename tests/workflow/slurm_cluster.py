"""A real single-node SLURM cluster on localhost for the tests: munged, slurmctld and slurmd started
from Debian's slurm-wlm and munge packages, stopped again by the pids this module started.

No accounting database (so no sacct), no cgroups (proctrack/linuxproc, task/none), and two
fake GPUs (character devices like /dev/null) in the node's GRES, so that `--gpus=1` requests are
scheduled on a CPU machine.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "sinfo")
MUNGE_SOCKET_DIR = Path("/run/munge")
MUNGE_KEY = Path("/etc/munge/munge.key")
# The configuration must sit where SLURM looks by default: the plugin's job step strips SLURM_*
# variables, SLURM_CONF among them, before its inner srun.
CONF_DIR = Path("/etc/slurm")


def missing_reason() -> str | None:
    """Why a cluster cannot be started here, or None when it can."""
    missing = [name for name in DAEMONS if shutil.which(name) is None]
    if missing:
        return (
            f"SLURM/munge not installed ({', '.join(missing)} missing; "
            ".ci/install installs Debian's slurm-wlm and munge when run as root)"
        )
    if os.geteuid() != 0:
        return "starting slurmd and munged needs root"
    if not MUNGE_KEY.exists():
        return f"no munge key at {MUNGE_KEY}"
    if (CONF_DIR / "slurm.conf").exists():
        return f"{CONF_DIR / 'slurm.conf'} exists: this machine already belongs to a SLURM cluster"
    return None


def _node_line(gpus: int) -> str:
    """The node as `slurmd -C` sees it (CPUs, memory), with count-only GPUs."""
    seen = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, check=True).stdout.split("\n")[0]
    return f"{seen} Gres=gpu:{gpus} State=UNKNOWN"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_config(root: Path, gpus: int = 2, conf_dir: Path = CONF_DIR) -> Path:
    """slurm.conf and gres.conf in `conf_dir` for one node named after this host; state, logs
    and fake GPU devices under `root`."""
    host = socket.gethostname().split(".")[0]
    for sub in ("state", "spool"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    # SLURM drops a GPU without a device file: each fake GPU is a character device like /dev/null.
    for index in range(gpus):
        device = root / f"fake-gpu{index}"
        if not device.exists():
            os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    conf_dir.mkdir(parents=True, exist_ok=True)
    (conf_dir / "gres.conf").write_text(f"NodeName={host} Name=gpu File={root}/fake-gpu[0-{gpus - 1}]\n")
    conf = conf_dir / "slurm.conf"
    conf.write_text(
        "\n".join(
            [
                "ClusterName=tda",
                f"SlurmctldHost={host}",
                "SlurmUser=root",
                "SlurmdUser=root",
                f"SlurmctldPort={_free_port()}",
                f"SlurmdPort={_free_port()}",
                "AuthType=auth/munge",
                f"StateSaveLocation={root / 'state'}",
                f"SlurmdSpoolDir={root / 'spool'}",
                f"SlurmctldPidFile={root / 'slurmctld.pid'}",
                f"SlurmdPidFile={root / 'slurmd.pid'}",
                f"SlurmctldLogFile={root / 'slurmctld.log'}",
                f"SlurmdLogFile={root / 'slurmd.log'}",
                "ProctrackType=proctrack/linuxproc",
                "TaskPlugin=task/none",
                "SelectType=select/cons_tres",
                "SelectTypeParameters=CR_Core",
                "SchedulerType=sched/backfill",
                "AccountingStorageType=accounting_storage/none",
                "JobCompType=jobcomp/none",
                "JobAcctGatherType=jobacct_gather/none",
                "MpiDefault=none",
                "MailProg=/bin/true",
                "ReturnToService=2",
                "GresTypes=gpu",
                "KillWait=5",
                _node_line(gpus),
                "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP",
                "",
            ]
        )
    )
    return conf


def _wait_for_idle_node(env: dict[str, str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    state = ""
    while time.monotonic() < deadline:
        state = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, env=env).stdout.strip()
        if state == "idle":
            return
        time.sleep(0.2)
    raise RuntimeError(f"the SLURM node did not become idle within {timeout} s (sinfo says {state!r})")


@contextmanager
def single_node_cluster(root: Path, gpus: int = 2, timeout: float = 60.0) -> Iterator[dict[str, str]]:
    """Start munged, slurmctld and slurmd; yield the environment that talks to them; stop exactly
    the daemons started here, by their pids, and remove the configuration written here."""
    conf = write_config(root, gpus)
    env = {**os.environ, "SLURM_CONF": str(conf)}
    started: list[subprocess.Popen] = []
    try:
        if subprocess.run(["munge", "-n"], capture_output=True).returncode != 0:  # no munged running yet
            MUNGE_SOCKET_DIR.mkdir(exist_ok=True)
            shutil.chown(MUNGE_SOCKET_DIR, "munge", "munge")
            started.append(
                subprocess.Popen(["munged", "-F"], user="munge", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            )
            deadline = time.monotonic() + timeout
            while subprocess.run(["munge", "-n"], capture_output=True).returncode != 0:
                if time.monotonic() > deadline or started[-1].poll() is not None:
                    raise RuntimeError("munged did not start (see /var/log/munge/munged.log)")
                time.sleep(0.1)
        for daemon in ("slurmctld", "slurmd"):
            started.append(
                subprocess.Popen(
                    [daemon, "-D", "-f", str(conf)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                )
            )
        _wait_for_idle_node(env, timeout)
        yield env
    finally:
        for process in reversed(started):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in reversed(started):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for name in ("slurm.conf", "gres.conf"):
            (CONF_DIR / name).unlink(missing_ok=True)
