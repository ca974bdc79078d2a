"""A free run of loopback ports for sandboxes started with ``port_base``."""

from __future__ import annotations

import random
import socket


def free_port_base(span: int = 7) -> int:
    """A random base from 20000 whose ``span`` ports are all free now (random: test runs
    of other worktrees on this machine look for ports at the same time)."""
    for _ in range(200):
        base = random.randrange(20_000, 60_000)
        probes = []
        try:
            for port in range(base, base + span):
                s = socket.socket()
                probes.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in probes:
                s.close()
    raise AssertionError("no free run of ports")
