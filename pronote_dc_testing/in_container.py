"""Inside a `PronoteSchoolContainer` (`python -m pronote_dc_testing.in_container`): an
embedded data-center whose address pool is the container's own IP (a /32), one demo school on
it, its details (as the console's GetSchool gives them) written to `<state dir>/../school.json`
for the health check and `get_accounts()`; then it serves until SIGTERM.

Environment: PRONOTE_DC_STATE_DIR (must end in /state), UAI, NAME, PRONOTE_DC_TESTING_DATE
(empty: now). One process instead of three `pronote-dc` CLI runs saves seconds of imports.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
from pathlib import Path

from common.files import write_json_atomically
from pronote_dc_testing.embedded import EmbeddedDatacenter
from pronote_dc_testing.leftovers import Claim


def main() -> None:
    state_dir = Path(os.environ["PRONOTE_DC_STATE_DIR"])
    address = socket.gethostbyname(socket.gethostname())
    state_dir.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    datacenter = EmbeddedDatacenter.launch(
        Claim(state_dir.parent, f"{address}/32"), os.environ.get("PRONOTE_DC_TESTING_DATE") or None
    )
    school = datacenter.add_school(os.environ["UAI"], os.environ.get("NAME", ""))
    write_json_atomically(state_dir.parent / "school.json", school.details)
    print(json.dumps({"uai": school.uai, "address": school.address}), flush=True)
    stop.wait()
    datacenter.stop()


if __name__ == "__main__":
    main()
