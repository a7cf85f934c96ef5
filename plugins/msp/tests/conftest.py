"""The published-format fixture writers live beside the core's data tests (tests/test_data_fixtures.py)."""
import sys

from framework.testing import REPO

if str(REPO / 'tests') not in sys.path:
    sys.path.append(str(REPO / 'tests'))
