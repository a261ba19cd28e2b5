"""Output files that never clobber by surprise: `trawl export --out` and its sidecar.

A target is written to a private temporary file in its own directory and only
published (renamed into place) once complete, so a failed export leaves nothing
half-written.  An existing file is replaced only with `force`; anything that is
not a regular file (a device such as /dev/full, a FIFO, a directory, a socket,
a symbolic link) is refused, because renaming over it would replace the device
node or the link itself rather than write "into" it.
"""
from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from core.errors import TrawlError

STDOUT = "-"


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISLNK, "a symbolic link")):
        if test(mode):
            return name
    return "not a regular file"


def check_target(path: Path, option: str, *, force: bool) -> os.stat_result | None:
    """The target's current stat (None if absent); TrawlError if writing it is not allowed."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        if not path.parent.is_dir():
            raise TrawlError(f"{option} {path}: directory {path.parent} does not exist") from None
        return None
    except OSError as exc:
        raise TrawlError(f"{option} {path}: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise TrawlError(f"{option} {path}: is {_kind(info.st_mode)}; "
                         "give the path of a regular file (or - for stdout)")
    if not force:
        raise TrawlError(f"{option} {path}: file exists; add --force to replace it")
    return info


def _default_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def staged(path: Path, option: str, *, force: bool) -> Iterator[Path]:
    """Yields a temporary path beside `path`; the caller writes it, then `publish()` moves it in.

    The temporary file is removed if it was not published (an error, a kill, Ctrl-C)."""
    existing = check_target(path, option, force=force)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    os.close(fd)
    tmp = Path(name)
    os.chmod(tmp, stat.S_IMODE(existing.st_mode) if existing else _default_mode())
    try:
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)


def publish(tmp: Path, path: Path, option: str, *, force: bool) -> None:
    """Move a complete temporary file into place, re-checking the target just before."""
    if not force:
        # link() fails if the name exists, so a file created meanwhile is never overwritten
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise TrawlError(f"{option} {path}: file exists; add --force to replace it") from None
        except OSError:
            pass  # a filesystem without hard links: checked rename below
        else:
            tmp.unlink()
            return
    check_target(path, option, force=force)
    os.replace(tmp, path)
