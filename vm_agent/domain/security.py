"""Suspension of IPs after failed logins, with fail2ban's semantics: the school's side.

The rules live in `common/fail2ban.py`, shared with the controller's console login (issue 12,
point 6), so both throttle the same way.
"""

from __future__ import annotations

from common.fail2ban import Guard, SecurityPolicy, Suspension

__all__ = ["Guard", "SecurityPolicy", "Suspension"]
