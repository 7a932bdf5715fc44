"""The school's saved state: one JSON file in its data directory, written atomically."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from common.files import write_json_atomically

STATE_FILE = "state.json"


class StateStore:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / STATE_FILE

    def load(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]
        except FileNotFoundError:
            return None
        except json.JSONDecodeError as error:
            raise ValueError(
                f"{self.path} is corrupt ({error}); restore it from a backup"
            ) from None

    def save(self, state: dict[str, Any]) -> None:
        """Into the data directory as it is (made by the school's start or population):
        FileNotFoundError if it is gone, rather than making it again for a school whose
        provisioning was undone meanwhile."""
        write_json_atomically(self.path, state, mode=0o600, indent=None, make_parents=False)
