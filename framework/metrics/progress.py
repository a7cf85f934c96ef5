"""Progress bars inside long metrics: off unless asked for, as the suite asks with ``progress=True``."""
from __future__ import annotations

from typing import Iterable, Sequence


def chunk_bar(chunks: Sequence[int], label: str | bool) -> Iterable[int]:
    """``chunks`` (group counts, as ``group_chunks`` gives them), with a bar counting groups when ``label`` is set."""
    if not label:
        return chunks
    from tqdm import tqdm
    return _counting(chunks, tqdm(total=sum(chunks), desc=str(label), unit='group', leave=False))


def _counting(chunks, bar):
    try:
        for size in chunks:
            yield size
            bar.update(size)
    finally:
        bar.close()
