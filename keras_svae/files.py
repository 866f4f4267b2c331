"""Atomic writes: a file or folder appears complete at its final path, or not at all.

Everything the library writes (models, figures, metrics, exports) goes through
``atomic_path``: the content is written to a hidden temporary path beside the
target and renamed onto it only when complete, so a crash or a failed write
never leaves a half-written file and never destroys an existing good one.

This module needs only the standard library (the numpy-only LiteRT generator
uses it on devices without TensorFlow).
"""

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path

# Hidden temporary names start with this, so leftovers of a killed process can
# be recognised (and removed) by the next run: ``.<name>.partial-<random>``.
PARTIAL_MARK = ".partial-"


@contextlib.contextmanager
def atomic_path(path, directory=False, overwrite=True):
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    If the block raises, the temporary file or folder is removed and an
    existing ``path`` is left untouched. A folder target replaces an existing
    folder only once the new one is complete.

    Args:
        path: the final file (or folder, with ``directory=True``).
        directory: yield an (empty, created) temporary folder instead of a
            file name.
        overwrite: when False, an existing ``path`` is a FileExistsError
            (raised before anything is written).

    Example:
        >>> with atomic_path("model.keras") as temporary:
        ...     model.save(temporary)
    """
    path = Path(path)
    if not overwrite and (path.exists() or path.is_symlink()):
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it.")
    check_output_folder(path.parent, f"Cannot write {path}: its folder")
    path.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{path.name}{PARTIAL_MARK}"
    if directory:
        temporary = Path(tempfile.mkdtemp(prefix=prefix, dir=path.parent))
        temporary.chmod(0o755)
    else:
        suffix = "".join(path.suffixes)  # e.g. ".weights.h5", which Keras insists on
        descriptor, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=path.parent)
        os.close(descriptor)
        temporary = Path(name)
        temporary.unlink()  # writers such as model.save expect to create the file
    try:
        yield temporary
        if not temporary.exists():
            raise FileNotFoundError(f"Nothing was written to {temporary} for {path}.")
        if directory:
            replace_folder(temporary, path)
        else:
            temporary.chmod(0o644)
            os.replace(temporary, path)
    finally:
        remove(temporary)


def check_output_folder(folder, what="The output folder"):
    """Return ``folder`` as a Path if it is, or can become, a folder this
    process writes into; raise before anything is written otherwise.

    Nothing is created: the nearest existing folder above ``folder`` is
    probed with a temporary file (removed at once), which also catches
    read-only file systems where permission bits say "writable".

    Raises:
        NotADirectoryError: ``folder`` or a folder above it is a file.
        PermissionError: the nearest existing folder cannot be written.

    Example:
        >>> check_output_folder("runs", "--out")
        PosixPath('runs')
    """
    folder = Path(folder)
    existing = folder
    while not (existing.exists() or existing.is_symlink()) and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        where = "" if existing == folder else f" cannot be created: {existing}"
        raise NotADirectoryError(
            f"{what} {folder}{where} is a file, not a folder. Choose a path in a folder "
            "(or remove the file)."
        )
    try:
        descriptor, name = tempfile.mkstemp(prefix=f".write-test{PARTIAL_MARK}", dir=existing)
    except OSError as error:
        raise PermissionError(
            f"{what} {folder} cannot be written: {existing} is not writable "
            f"({error.strerror or error}). Choose a folder you can write to."
        ) from None
    os.close(descriptor)
    os.unlink(name)
    return folder


def replace_folder(temporary, path):
    """Rename a finished folder onto ``path``, replacing an existing folder
    only once the rename can happen (the old one is moved aside first and
    restored if the rename fails)."""
    temporary, path = Path(temporary), Path(path)
    old = None
    if path.exists() or path.is_symlink():
        if not path.is_dir():
            raise NotADirectoryError(f"{path} exists and is not a folder.")
        old = path.with_name(f".{path.name}{PARTIAL_MARK}old-{os.getpid()}")
        remove(old)
        os.replace(path, old)
    try:
        os.replace(temporary, path)
    except BaseException:
        if old is not None:
            os.replace(old, path)
        raise
    if old is not None:
        remove(old)


def remove(path):
    """Delete a file or folder if it exists."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def remove_partials(folder, name):
    """Delete the temporary files and folders that killed writers of ``name``
    left in ``folder`` (``.<name>.partial-*``). Returns what was removed.

    Only leftovers of this one target are touched: other runs may be writing
    beside it."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    prefix = f".{name}{PARTIAL_MARK}"
    leftovers = sorted(p for p in folder.iterdir() if p.name.startswith(prefix))
    for path in leftovers:
        remove(path)
    return leftovers


def write_bytes(path, data):
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as temporary:
        temporary.write_bytes(data)
    return Path(path)


def write_text(path, text):
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    return write_bytes(path, text.encode("utf-8"))


def write_json(path, value):
    """Write ``value`` as indented JSON to ``path`` atomically."""
    return write_text(path, json.dumps(value, indent=2, default=float) + "\n")


def read_json(path, default=None):
    """The JSON value in ``path``, or ``default`` when the file is missing or
    not valid JSON (a run folder's record that is not there yet).

    Args:
        path: the file.
        default: what to return instead.

    Returns:
        The parsed value, or ``default``.
    """
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return default
