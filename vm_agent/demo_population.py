"""A demo school populated and saved before its server starts (local runtime, DESIGN decision
38).

Populated through its management port, a started school runs the call's code for the first
time (the interceptor, the request, the reply, the helper it asks for, the state taken back):
~1.3 MiB of pages it shared with its warm parent become its own (`bench.school_memory
--demo`, 200 schools: 8.12 MiB PSS a school, against 6.85 for a plain one). The warm parent
therefore has the population done before it forks the school, by its population worker
(`vm_agent.population_worker`, one process for a wave's populations, DESIGN decision 41): it
reads the school's `agent.json`, computes the PopulateDemo call on the school's saved state,
saves it and answers; the school then starts as any school does and loads that state (7.19
MiB).

The call and its answer are the agent's own messages (`agent_pb2.PopulateDemoRequest` and
`PopulateDemoReply`, serialized), so the controller reads the same reply whichever way the
population went (docker:// and swarm:// still send it to the started school).
"""

from __future__ import annotations

import base64
import json
import os
import traceback
from pathlib import Path

from google.protobuf.message import DecodeError

from common.agent_config import ConfigError, load_config
from protos import agent_pb2
from vm_agent.adapters.agent_service import populate_demo
from vm_agent.domain.errors import AgentError
from vm_agent.server import load_school, school_clock


def populate_saved(config_path: Path, request: bytes) -> bytes:
    """The school of `config_path` (its `agent.json`) populated as `request` (a serialized
    PopulateDemoRequest) asks, saved in its data directory; returns the serialized
    PopulateDemoReply. Raises ConfigError (no or bad agent.json), the domain's refusals
    (AgentError), DecodeError (not a request), ValueError (a corrupt state) and OSError."""
    config = load_config(config_path)
    config.data_dir.mkdir(exist_ok=True)  # in the school's directory, not made again if gone
    school = load_school(config, school_clock(config), isolate=None)  # computed right here
    reply = populate_demo(school, agent_pb2.PopulateDemoRequest.FromString(request))
    return reply.SerializeToString()


def answer(config_path: str, request: str, write_fd: int) -> None:
    """In the warm parent's population worker: `populate_saved` with the base64 `request`,
    and its answer written to `write_fd` as one JSON line: {"ok": true, "reply": base64} or
    {"ok": false, "error": why}."""
    try:
        reply = populate_saved(Path(config_path), base64.b64decode(request, validate=True))
        line: dict[str, object] = {"ok": True, "reply": base64.b64encode(reply).decode()}
    except (ConfigError, AgentError, DecodeError, ValueError, OSError) as error:
        line = {"ok": False, "error": f"its demo population failed: {error}"}
    except Exception as error:  # a state or code we did not foresee: its traceback is logged
        traceback.print_exc()  # to the warm parent's stderr: the controller's log
        line = {
            "ok": False,
            "error": f"its demo population failed ({type(error).__name__}: {error}); "
            "the controller's log has the traceback",
        }
    payload = json.dumps(line).encode() + b"\n"
    while payload:
        payload = payload[os.write(write_fd, payload) :]
