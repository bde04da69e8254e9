"""A small command line that supervises given children exactly as ``make demo`` does.

``python -m tests.support.supervised NAME=CODE ...`` starts each ``CODE`` as a Python child
called ``NAME`` and supervises them until a stop signal or a child's death.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from comms_portal.processes import Supervisor
from comms_portal.stop_signals import StopSignals


def main(argv: Sequence[str] | None = None) -> int:
    """Supervise the children named on the command line; return the supervisor's code."""
    children = [arg.partition("=") for arg in (sys.argv[1:] if argv is None else argv)]
    with StopSignals() as signals:
        supervisor = Supervisor(signals=signals, grace_seconds=5)
        for name, _, code in children:
            supervisor.start(name, [sys.executable, "-c", code], env=dict(os.environ))
        return supervisor.supervise()


if __name__ == "__main__":
    sys.exit(main())
