"""Why a write failed, in the user's words: the disk is full, permission is denied, or the folder is gone.

``torch.save`` into a file raises the operating system's ``OSError`` only when the first write fails; once its
zip writer has started, a failed write surfaces as ``RuntimeError`` ("unexpected pos ..." or "PytorchStreamWriter
failed writing file"), with the ``OSError`` attached as its context. Both reach :func:`describe`, which finds the
errno behind them (or, when torch kept none, checks the free space) and says what to do next.
"""
from __future__ import annotations

import errno
import shutil
from pathlib import Path

FULL = (errno.ENOSPC, getattr(errno, 'EDQUOT', errno.ENOSPC), errno.EFBIG)
DENIED = (errno.EACCES, errno.EPERM, errno.EROFS)
GONE = (errno.ENOENT, errno.ESTALE, errno.ENOTDIR)
TORCH_WRITE_FAILURE = ('unexpected pos', 'PytorchStreamWriter failed', 'file write failed')
LOW_SPACE_BYTES = 1 << 20


def is_write_failure(exc: BaseException) -> bool:
    """An ``OSError``, or the ``RuntimeError`` torch's zip writer raises when the file under it fails."""
    if isinstance(exc, OSError):
        return True
    return isinstance(exc, RuntimeError) and (_os_error(exc) is not None
                                              or any(m in str(exc) for m in TORCH_WRITE_FAILURE))


def describe(exc: BaseException, path: Path) -> tuple[str, str]:
    """``(cause, what to do)`` for a failed write of ``path``."""
    os_error = _os_error(exc)
    code = getattr(os_error, 'errno', None)
    folder = Path(path).parent
    if code is None and not folder.is_dir():
        code = errno.ENOENT
    if code is None and _free_bytes(folder) < LOW_SPACE_BYTES:
        code = errno.ENOSPC
    if code in FULL:
        return ('the disk is full', f'Free some space on the disk holding {folder} (or lower --keep_checkpoints)')
    if code in DENIED:
        return (f'permission to write in {folder} was denied ({errno.errorcode.get(code, code)})',
                f'Make {folder} writable by this user (or move the run somewhere writable)')
    if code in GONE:
        return (f'the folder {folder} is gone (moved or deleted while the run was writing)',
                'Put the run folder back where it was (or start a new run)')
    first = (str(os_error or exc).splitlines() or [''])[0]
    return (f'{(os_error or exc).__class__.__name__}: {first}', 'Fix that')


def _os_error(exc: BaseException | None) -> OSError | None:
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, OSError):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def _free_bytes(folder: Path) -> int:
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return 1 << 62
