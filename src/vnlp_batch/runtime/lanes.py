"""Lanes: a graph call's rows cut into pieces that run at the same time, one core each.

One onnxruntime run spreads each operator over the session's threads. The fast decoders make many
small runs (a few hundred rows through a GRU), where two threads on one run mostly wait for each
other; two single-threaded runs over halves of the rows keep both cores busy. An InferenceSession may
be run from several threads at once, so the lanes share one session. Rows are independent in every
graph here, so a piece's outputs are the rows' outputs.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from itertools import pairwise

import numpy as np

MIN_ROWS = 16  # per lane: below this, handing a piece to another thread costs more than it saves


def row_pieces(rows: int, lanes: int, max_rows: int) -> list[slice]:
    """Near-equal consecutive pieces of `rows`: at most `max_rows` each, and a multiple of `lanes`
    pieces when there are enough rows to give every lane work."""
    pieces = max(1, math.ceil(rows / max_rows))
    if lanes > 1 and rows >= lanes * MIN_ROWS:
        pieces = math.ceil(pieces / lanes) * lanes
    bounds = np.linspace(0, rows, pieces + 1).round().astype(int)
    return [slice(int(a), int(b)) for a, b in pairwise(bounds)]


@cache
def pool(lanes: int) -> ThreadPoolExecutor:
    """The process's threads for `lanes` concurrent runs (onnxruntime releases the GIL while it runs)."""
    return ThreadPoolExecutor(lanes, thread_name_prefix="vnlp-lane")
