"""One verified download, shared by the MNIST and Tiny Shakespeare loaders.

The bytes go to a temporary file beside ``target`` which is renamed into place only once ``verify`` accepts
it; on any failure it is deleted, so no partial or unverified file is ever left.
"""

from __future__ import annotations

import os
import tempfile
import urllib.request
from pathlib import Path


def download_verified(url: str, target: Path, verify, progress=None, timeout: float = 30.0) -> Path:
    """Download ``url`` to ``target``; ``verify(tmp_path)`` raises if the content is wrong.

    ``progress(bytes_done, bytes_total_or_None, filename)`` is called as chunks arrive. A connection that
    ends before the announced ``Content-Length`` is an ``OSError``. Returns ``target``.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f, urllib.request.urlopen(url, timeout=timeout) as response:
            total = response.headers.get("Content-Length")
            total, done = (int(total) if total else None), 0
            while chunk := response.read(1 << 16):
                f.write(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total, target.name)
        if total is not None and done != total:
            raise OSError(f"{url}: the connection ended after {done:,} of {total:,} bytes")
        verify(tmp)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return target
