"""A network of their own for the workers of a multi-worker training on one machine.

TensorFlow's servers listen on every network interface of the machine, whatever address
they are given: started plainly, the workers could be reached from the room's network while
they train. On Linux they run instead in a network namespace that has nothing but a
loopback interface, so they reach each other on 127.0.0.1 and nothing outside the machine
can reach them. One holder process makes the namespace (as an ordinary user, inside a user
namespace of its own), and each worker joins it before its program starts:

    python -m helpers.private_network hold               # says "ready"; lasts while its stdin is open
    python -m helpers.private_network join PID PROGRAM ...   # runs PROGRAM in PID's network

Where the system cannot make one (not Linux, or user namespaces turned off), ``start``
raises ``NoPrivateNetwork`` with the reason.
"""
from __future__ import annotations

import os
import subprocess
import sys

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
READY = "ready"
START_SECONDS = 10


class NoPrivateNetwork(Exception):
    """This system cannot give the workers a network of their own; the message says why."""


def _call(function: str, *args) -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if getattr(libc, function)(*args) != 0:
        number = ctypes.get_errno()
        raise OSError(number, f"{function}: {os.strerror(number)}")


def _loopback_up() -> None:
    """Bring the namespace's loopback interface up (it starts down)."""
    import fcntl
    import socket
    import struct

    get_flags, set_flags, up = 0x8913, 0x8914, 0x1
    with socket.socket() as s:
        request = struct.pack("16sH22x", b"lo", 0)
        flags = struct.unpack("16sH22x", fcntl.ioctl(s, get_flags, request))[1]
        fcntl.ioctl(s, set_flags, struct.pack("16sH22x", b"lo", flags | up))


def _new_namespace() -> None:
    """Move this (single-threaded) process into a new network namespace with loopback up."""
    if os.geteuid() == 0:
        try:
            _call("unshare", CLONE_NEWNET)
            return _loopback_up()
        except OSError:
            pass  # a container without the capability: as an ordinary user, below
    uid, gid = os.geteuid(), os.getegid()
    _call("unshare", CLONE_NEWUSER | CLONE_NEWNET)
    for name, text in (("setgroups", "deny"), ("uid_map", f"0 {uid} 1"),
                       ("gid_map", f"0 {gid} 1")):
        with open(f"/proc/self/{name}", "w") as f:
            f.write(text)
    _loopback_up()


def hold() -> int:
    """Make the namespace, say so, and keep it until stdin closes (the launcher ended)."""
    try:
        _new_namespace()
    except OSError as exc:
        print(f"unavailable: {exc.strerror or exc}", flush=True)
        return 1
    print(READY, flush=True)
    sys.stdin.read()
    return 0


def join(holder: int, program: list[str]) -> None:
    """Enter the holder's namespaces, then become ``program``."""
    for kind, flag in (("user", CLONE_NEWUSER), ("net", CLONE_NEWNET)):
        theirs, ours = (os.stat(f"/proc/{pid}/ns/{kind}") for pid in (holder, "self"))
        if (theirs.st_dev, theirs.st_ino) == (ours.st_dev, ours.st_ino):
            if kind == "net":  # the holder is gone, and its number another process's
                sys.exit(f"the workers' private network (process {holder}) is gone")
            continue  # the same user namespace (root needs none of its own)
        fd = os.open(f"/proc/{holder}/ns/{kind}", os.O_RDONLY)
        try:
            _call("setns", fd, flag)
        finally:
            os.close(fd)
    os.execvp(program[0], program)


class PrivateNetwork:
    """The holder process, as a context manager: ``with PrivateNetwork() as network:``
    start each worker as ``network.prefix() + command``."""

    def __enter__(self) -> "PrivateNetwork":
        if not sys.platform.startswith("linux"):
            raise NoPrivateNetwork(f"network namespaces are Linux's, and this is {sys.platform}")
        self.holder = subprocess.Popen(
            [sys.executable, "-m", "helpers.private_network", "hold"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            start_new_session=True)  # a Ctrl-C reaches the launcher, which ends it
        said = self._first_line()
        if said != READY:
            self.__exit__()
            raise NoPrivateNetwork(said.removeprefix("unavailable: ") or "it did not start")
        return self

    def _first_line(self) -> str:
        import selectors

        with selectors.DefaultSelector() as waiting:
            waiting.register(self.holder.stdout, selectors.EVENT_READ)
            if not waiting.select(START_SECONDS):
                return f"no answer in {START_SECONDS} s"
        return self.holder.stdout.readline().strip()

    def prefix(self) -> list[str]:
        return [sys.executable, "-m", "helpers.private_network", "join", str(self.holder.pid)]

    def __exit__(self, *exc) -> None:
        self.holder.stdin.close()
        try:
            self.holder.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.holder.kill()
            self.holder.wait()
        self.holder.stdout.close()


if __name__ == "__main__":
    if sys.argv[1:2] == ["hold"]:
        sys.exit(hold())
    if sys.argv[1:2] == ["join"] and len(sys.argv) > 3:
        join(int(sys.argv[2]), sys.argv[3:])
    sys.exit("usage: python -m helpers.private_network hold | join PID PROGRAM [ARGS...]")
