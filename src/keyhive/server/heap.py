"""Settle the heap once the service has started, so garbage collection skips it.

CPython's oldest generation is collected when it has grown by a quarter, and each such
collection traverses every object in it: after start that is the ~140,000 objects of
the imported modules, the app and its routes, none of which will ever be garbage. A
verification that reads a record it had not seen keeps that record, so a node under a
wave of first verifications (a restart) or of guesses at new ids grows the oldest
generation steadily, and the full collections it triggers cost tens of milliseconds
each: measured at 62 µs per request across a cold start of 2,000 tokens, against 6 µs
with the heap settled (issue 9, docs/benchmarks.md part e).

``gc.freeze()`` moves everything alive into a permanent generation that collections
ignore. Only objects created from then on are traversed. A frozen object is still freed
by reference counting; only a reference cycle among frozen objects would never be, and
the collection just before the freeze leaves none that is garbage.
"""

from __future__ import annotations

import gc


def settle() -> int:
    """Collect once, then freeze what is left; returns how many objects were frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
