"""Local Jupyter kernels over the ipc transport, each in a private folder.

jupyter_client's default is TCP on localhost: any local user can connect to the ports
(the HMAC key in a world-unreadable connection file is the only guard), and ipykernel
warns "Kernel is running over TCP without encryption" on every start. Every kernel the
pack starts itself (grading, sandboxed or not; ``make demo``; the tests) is local, so it
talks over ZeroMQ ipc instead: Unix sockets in a fresh 0700 folder that also holds the
connection file. Nothing to silence, nothing reachable from another user.
"""
import shutil
import tempfile
from pathlib import Path

from jupyter_core.paths import jupyter_runtime_dir

DIR_PREFIX = "coursepack-kernel-"
# A Unix socket path has at most 107 bytes (sun_path); leave room for the socket names.
_MAX_FOLDER_CHARS = 100 - len(DIR_PREFIX) - 8 - len("/kernel-ipc-99999")


def private_ipc(km, runtime_dir=None):
    """Set a jupyter_client ``KernelManager`` (not yet started) to the ipc transport with
    its connection file and sockets in a fresh private folder ``coursepack-kernel-*``
    under ``runtime_dir`` (default Jupyter's runtime folder, ``$JUPYTER_RUNTIME_DIR``;
    the temporary folder when that path is too long for a socket). Returns the folder;
    :func:`remove` deletes it after the kernel has stopped."""
    if runtime_dir is None:
        runtime_dir = jupyter_runtime_dir()
    runtime_dir = Path(runtime_dir).resolve()
    if len(str(runtime_dir)) > _MAX_FOLDER_CHARS:
        runtime_dir = Path(tempfile.gettempdir()).resolve()
    runtime_dir.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=DIR_PREFIX, dir=runtime_dir)).resolve()
    km.transport = "ipc"
    km.connection_file = str(folder / "kernel.json")
    km.ip = str(folder / "kernel-ipc")
    return folder


def remove(folder):
    """Delete a folder made by :func:`private_ipc`; refuses any other folder."""
    if folder is None:
        return
    folder = Path(folder)
    if not folder.name.startswith(DIR_PREFIX):
        raise ValueError(f"{folder} is not a private kernel folder ({DIR_PREFIX}*)")
    shutil.rmtree(folder, ignore_errors=True)


def ipc_kernel_manager(kernel_name, runtime_dir=None, **kwargs):
    """A ``KernelManager`` for ``kernel_name`` set up by :func:`private_ipc`; returns
    ``(km, folder)``."""
    # jupyter_client imported here, not at the top: the sandbox's launcher imports this
    # module at every kernel start and never needs it
    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name=kernel_name, **kwargs)
    return km, private_ipc(km, runtime_dir)
