"""Fixtures for the fault-injection and race tests: the same real
redis-server, real gateway and stubs as tests/integration (its conftest.py
and stub modules are imported from there, not copied), plus a load
generator (load.py) that acts like a platform retrying unacknowledged
webhooks.

tests/integration has no __init__.py: its conftest is the top-level module
`conftest`. This directory is a package (faults.conftest), so both collect in
one pytest run (tests/run.py) and each alone."""
import sys
from pathlib import Path

INTEGRATION = Path(__file__).resolve().parents[1] / "integration"
if str(INTEGRATION) not in sys.path:
    sys.path.insert(0, str(INTEGRATION))

# Fixtures and hooks are re-exported so pytest registers them for this
# directory too (a conftest's fixtures only reach tests below it).
from conftest import (gateway, pytest_runtest_makereport, redis_server)  # noqa: E402,F401
from graph_stub import graph  # noqa: E402,F401
from rail_stubs import rails, rails_gateway  # noqa: E402,F401
from slack_stub import slack  # noqa: E402,F401
