"""Reads a whole `tensorflow_datasets` split into numpy arrays.

MNIST and CIFAR-10 fit in memory, so the tfds path ends in the same arrays as
the file readers and both go through the same preprocessing and the same
`make_dataset`; the two sources therefore give identical pipelines.
tensorflow_datasets is imported lazily: it is slow to import and only this
source needs it.

Without network access tfds' download fails only after its retries (10, with
exponential back-off: about 3.5 minutes), with a `requests` error that does
not say what to do. So before asking tfds to download, the host names of the
data set's files are looked up (a DNS lookup, bounded by `DNS_TIMEOUT`; no
other traffic); when they do not resolve, `TfdsDownloadError` says at once
that the data could not be downloaded and how to load local files instead.
Data that tfds has already prepared never needs the network and is read
without any lookup.
"""

import socket
import threading
import urllib.parse

import numpy as np

DNS_TIMEOUT = 10.0  # seconds for the lookup of a download host


class TfdsDownloadError(ConnectionError):
    """tensorflow_datasets could not download a data set (usually: no network access).

    A `ConnectionError`, hence an `OSError`: command lines that report
    `OSError` as bad input print its message without a traceback. The tfds or
    network error it replaces is its ``__cause__``.
    """


def load_tfds_arrays(name, split, *, data_dir=None, download=True, title=None, offline_fix=""):
    """Reads a supervised tfds image data set into numpy arrays.

    Args:
        name: tfds name, e.g. ``"mnist"`` or ``"cifar10"``.
        split: tfds split, e.g. ``"train"``, ``"test"`` or ``"train[:10%]"``.
        data_dir: tfds data directory (default: tfds' own, ``~/tensorflow_datasets``).
        download: let tfds download and prepare the data if it is missing.
        title: the data set's name in error messages (default: ``name``).
        offline_fix: how to load the data from local files instead; ends the
            error messages about missing data.

    Returns:
        ``(images, labels)`` numpy arrays.

    Raises:
        TfdsDownloadError: the data is not prepared in ``data_dir`` and
            cannot be downloaded (the download host does not resolve, or tfds'
            download failed with a network or HTTP error).
        FileNotFoundError: the data is not prepared in ``data_dir`` and
            ``download=False``.
        Other errors of tfds (e.g. an unknown split) unchanged.
    """
    import tensorflow_datasets as tfds

    title = title or name

    def load(download):
        return tfds.load(
            name, split=split, as_supervised=True, data_dir=data_dir, download=download
        )

    try:
        # Prepared data needs no network, and no host lookup. Trying it first (rather than
        # asking builder.is_prepared()) also keeps tfds.testing.mock_data working: it fakes
        # the reading, not is_prepared().
        ds = load(download=False)
    except AssertionError as err:  # tfds' "could not find data in <data_dir>"
        builder = tfds.builder(name, data_dir=data_dir)
        if builder.is_prepared():
            raise  # another failed assertion, not missing data
        if not download:
            raise FileNotFoundError(
                f"tensorflow_datasets has no prepared {title} in {builder.data_dir} and "
                f"download=False. Pass download=True (needs network access), or tfds_data_dir="
                f"<a data_dir where tfds prepared {name!r}>. {offline_fix}".rstrip()
            ) from err
        _check_download_hosts(builder, title, offline_fix)
        try:
            ds = load(download=True)
        except Exception as err:
            cause = _download_failure(err, tfds)
            if cause is None:
                raise
            raise TfdsDownloadError(_download_message(title, str(cause), offline_fix)) from err
    # Batched reading rather than batch_size=-1, which tfds' mock_data cannot serve.
    chunks = list(tfds.as_numpy(ds.batch(10_000)))
    if not chunks:
        raise ValueError(
            f"tfds.load({name!r}, split={split!r}) returned no examples. Check the split "
            "(e.g. 'train' or 'test[:10%]')."
        )
    images = np.concatenate([c[0] for c in chunks])
    labels = np.concatenate([c[1] for c in chunks])
    return images, labels


def _download_message(title, reason, offline_fix):
    return (
        f"tensorflow_datasets could not download {title} (no network access?): {reason}. "
        f"{offline_fix}"
    ).rstrip()


def _download_failure(err, tfds):
    """The network or HTTP error behind ``err``, or None when ``err`` is something else."""
    import requests

    kinds = (
        requests.exceptions.ConnectionError,
        requests.exceptions.Timeout,
        tfds.download.DownloadError,  # an HTTP error status
        ConnectionError,
        TimeoutError,
        socket.gaierror,
    )
    while err is not None:
        if isinstance(err, kinds):
            return err
        err = err.__cause__
    return None


def _check_download_hosts(builder, title, offline_fix):
    """Raises `TfdsDownloadError` when a host the download needs does not resolve.

    Only a DNS lookup, in a thread so that a hanging resolver costs at most
    `DNS_TIMEOUT` seconds. URLs reached through a proxy are not checked: the
    proxy resolves them.
    """
    import requests

    hosts = set()
    for url in builder.url_infos or ():
        parts = urllib.parse.urlsplit(url)
        direct = not requests.utils.get_environ_proxies(url)
        if parts.scheme in ("http", "https") and parts.hostname and direct:
            hosts.add(parts.hostname)
    for host in sorted(hosts):
        error = _lookup_error(host)
        if error is not None:
            raise TfdsDownloadError(
                _download_message(
                    title, f"cannot resolve {host}, which serves its files ({error})", offline_fix
                )
            ) from error


def _lookup_error(host):
    """None when ``host`` resolves within `DNS_TIMEOUT` seconds, else the error."""
    outcome = {}

    def lookup():
        try:
            socket.getaddrinfo(host, 443, type=socket.SOCK_STREAM)
        except OSError as err:
            outcome["error"] = err

    thread = threading.Thread(target=lookup, name=f"resolve {host}", daemon=True)
    thread.start()
    thread.join(DNS_TIMEOUT)
    if thread.is_alive():
        return TimeoutError(f"no answer from the name resolver in {DNS_TIMEOUT:g} s")
    return outcome.get("error")
