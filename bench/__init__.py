"""Benchmarks: each prints its figures beside a baseline measured in the same run
(PERFORMANCE.md). They are never timed assertions in the test suite.

A benchmark stops on SIGINT (KeyboardInterrupt: its `finally` tears its fleet down), which is
how `bench.suite` interrupts one past its bound. A program started in the background by a
shell without job control (`cmd &` in a script, a CI runner) inherits SIGINT *ignored*, and
Python then installs no KeyboardInterrupt handler: the suite's SIGINT did nothing and a
benchmark ran on to its end (CI: 71.5 s for a 1 s bound). Importing this package restores the
handler."""

import signal
import threading

if (
    threading.current_thread() is threading.main_thread()
    and signal.getsignal(signal.SIGINT) is signal.SIG_IGN
):
    signal.signal(signal.SIGINT, signal.default_int_handler)
