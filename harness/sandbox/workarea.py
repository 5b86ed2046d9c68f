"""The worker's writable directory, as the harness touches it: never by path.

The submission can put anything in its work area while any of its processes run: a symbolic
link to a host file, a directory where the harness expects to create one, a FIFO, a million
files. The harness runs as root when it grades a class, so following any of those would hand
the submission whatever root can do. Everything here therefore goes through a descriptor of the
work area opened before any submission code ran, one path component at a time, without
following links (``O_NOFOLLOW``, ``*at`` calls, :func:`os.fwalk`): the worst the submission can
do is make an operation fail, which :class:`Tampered` reports as its own doing. Walks are
bounded in entries, so that a flood of files costs the harness a bounded amount of work.
"""

from __future__ import annotations

import os
import stat
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class Tampered(Exception):
    """Something in the work area is not what the harness made or asked for (a link, a
    special file, a directory in place of a file): the submission's doing."""


@dataclass(frozen=True)
class Usage:
    """What the work area holds: bytes of regular files, entries of any kind; ``complete`` is
    False when the walk stopped at its bound (the area holds at least that much)."""

    bytes: int
    entries: int
    complete: bool


class WorkArea:
    """``path`` created (mode 0700) and owned by ``uid`` (None: left to the harness's user).
    Use :meth:`close` (or ``with``) when the grade ends."""

    def __init__(self, path: Path, uid: int | None = None) -> None:
        self.path = Path(path)
        self.uid = uid
        os.mkdir(self.path, 0o700)
        self._fd = os.open(self.path, _DIR_FLAGS)
        if uid is not None:
            os.fchown(self._fd, uid, uid)

    def __enter__(self) -> "WorkArea":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._fd < 0

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    # paths ---------------------------------------------------------------------------------
    def relative(self, path: str | os.PathLike) -> PurePosixPath:
        """``path`` (absolute under the area, or relative to it) as components inside it,
        decided on the text alone: nothing is resolved, so no link can move it."""
        p = PurePosixPath(os.fspath(path))
        if p.is_absolute():
            try:
                p = p.relative_to(PurePosixPath(self.path))
            except ValueError:
                raise Tampered(f"{path} is not inside the work directory") from None
        if any(part in ("..", "") for part in p.parts):
            raise Tampered(f"{path} climbs out of the work directory")
        return p

    def _open_dir(self, parts: tuple[str, ...]) -> int:
        """A descriptor of the directory ``parts`` below the area, each step refusing links."""
        fd = os.dup(self._fd)
        try:
            for part in parts:
                try:
                    nxt = os.open(part, _DIR_FLAGS, dir_fd=fd)
                except OSError as exc:
                    raise Tampered(f"{part!r} in the work directory is not a directory the "
                                   f"harness can enter ({exc.strerror})") from None
                os.close(fd)
                fd = nxt
            return fd
        except BaseException:
            os.close(fd)
            raise

    # creating ------------------------------------------------------------------------------
    def new_dir(self, name: str, parent: str | os.PathLike = "", unique: bool = True) -> Path:
        """A new directory in ``parent`` (below the area), owned by the area's user, named
        ``name-XXXXXX`` (a fresh suffix: nothing the submission made in advance can stand in
        its place) or, with ``unique=False``, ``name`` exactly (refused if taken)."""
        parts = self.relative(parent).parts if str(parent) else ()
        pfd = self._open_dir(parts)
        made = f"{name}-{secrets.token_hex(3)}" if unique else name
        try:
            os.mkdir(made, 0o755, dir_fd=pfd)
            fd = os.open(made, _DIR_FLAGS, dir_fd=pfd)  # a link swapped in meanwhile: refused
            try:
                if self.uid is not None:
                    os.fchown(fd, self.uid, self.uid)
            finally:
                os.close(fd)
        except OSError as exc:
            raise Tampered(f"could not create {made!r} in the work directory "
                           f"({exc.strerror})") from None
        finally:
            os.close(pfd)
        return self.path.joinpath(*parts, made)

    def write_files(self, directory: str | os.PathLike, files: dict[str, bytes]) -> None:
        """New files in ``directory`` (below the area), by path inside it (``a/b`` makes the
        directory ``a`` first), each refused if anything of its name is already there."""
        made = {""}
        for rel in files:
            for parent in reversed(PurePosixPath(rel).parents):
                if str(parent) not in made and str(parent) != ".":
                    self.new_dir(parent.name, Path(directory, parent.parent), unique=False)
                    made.add(str(parent))
        for rel, data in files.items():
            rel = PurePosixPath(rel)
            self.write_file(Path(directory, rel.parent), rel.name, data)

    def write_file(self, directory: str | os.PathLike, name: str, data: bytes) -> Path:
        """A new file ``name`` in ``directory`` (below the area) holding ``data``, readable by
        the worker; refused if anything of that name is already there."""
        parts = self.relative(directory).parts
        dfd = self._open_dir(parts)
        try:
            fd = os.open(name, _CREATE_FLAGS, 0o644, dir_fd=dfd)
        except OSError as exc:
            raise Tampered(f"could not create {name!r} in the work directory "
                           f"({exc.strerror})") from None
        finally:
            os.close(dfd)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        return self.path.joinpath(*parts, name)

    # reading -------------------------------------------------------------------------------
    def read_file(self, path: str | os.PathLike, max_bytes: int) -> bytes:
        """The bytes of the regular file at ``path``; :class:`Tampered` for a link or a special
        file, :class:`FileNotFoundError` when there is none, ``ValueError`` over ``max_bytes``."""
        rel = self.relative(path)
        if not rel.parts:
            raise Tampered(f"{path} is the work directory itself, not a file")
        dfd = self._open_dir(rel.parts[:-1])
        try:
            try:
                fd = os.open(rel.name, _READ_FLAGS, dir_fd=dfd)
            except FileNotFoundError:
                raise
            except OSError as exc:
                raise Tampered(f"{rel} cannot be opened safely ({exc.strerror}: a link?)") \
                    from None
        finally:
            os.close(dfd)
        with os.fdopen(fd, "rb") as f:
            info = os.fstat(f.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise Tampered(f"{rel} is not a regular file")
            if info.st_size > max_bytes:
                raise ValueError(f"{rel} is over {max_bytes} bytes")
            return f.read(max_bytes + 1)[:max_bytes]

    def files(self, under: str | os.PathLike = "", limit: int = 10_000,
              skip: tuple[str, ...] = ()) -> list[str]:
        """Regular files below ``under``, as paths relative to the area, never through a link;
        at most ``limit`` entries looked at. Top-level names in ``skip`` are not entered."""
        return [rel for rel, is_file, _ in self._walk(under, limit, skip) if is_file]

    def usage(self, limit: int) -> Usage:
        """Bytes and entries in the area, looking at ``limit`` entries at most."""
        total = entries = 0
        for _, is_file, size in self._walk("", limit + 1, ()):
            entries += 1
            total += size if is_file else 0
        return Usage(total, min(entries, limit), entries <= limit)

    def _walk(self, under, limit: int, skip: tuple[str, ...]) -> Iterator[tuple[str, bool, int]]:
        """(relative path, is a regular file, its size) for up to ``limit`` entries."""
        parts = self.relative(under).parts if str(under) else ()
        try:
            top = self._open_dir(parts)
        except Tampered:
            return
        seen = 0
        try:
            for here, dirs, names, dfd in os.fwalk(".", dir_fd=top, follow_symlinks=False):
                if here == ".":
                    dirs[:] = [d for d in dirs if d not in skip]
                dirs.sort()
                base = PurePosixPath(*parts, here)
                for name in [*dirs, *sorted(names)]:
                    seen += 1
                    if seen > limit:
                        return
                    try:
                        info = os.stat(name, dir_fd=dfd, follow_symlinks=False)
                    except OSError:
                        continue
                    regular = stat.S_ISREG(info.st_mode)
                    yield str(base / name), regular, info.st_size if regular else 0
        finally:
            os.close(top)

    def has_files(self, under: str | os.PathLike) -> bool:
        """Whether any regular file lies below ``under``."""
        return bool(self.files(under, limit=10_000))
