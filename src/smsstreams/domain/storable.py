"""Text that no database can store.

PostgreSQL's ``text`` cannot hold NUL, and UTF-8 (what both databases store) has no
unpaired UTF-16 surrogates, which ``json.loads`` lets through from ``"\\ud800"``. Such a
value must be refused with a 4xx naming its field (or, when it is only looked up, match
nothing) before it reaches a query: on PostgreSQL it is a driver error, and in a group
commit it would fail every message of the commit.
"""

from __future__ import annotations

import re
from typing import Final

_UNSTORABLE: Final = re.compile("[\x00\ud800-\udfff]")


def is_storable(value: str) -> bool:
    """True when ``value`` holds neither NUL nor an unpaired surrogate."""
    return _UNSTORABLE.search(value) is None


REASON: Final = "must not contain NUL (\\u0000) or an unpaired UTF-16 surrogate"
