"""What a grid runs, as its user chose: presets, seeds per preset, experiments.

``python -m training.reproduce`` reads ``--preset``, ``--seeds`` and
``--experiments`` with these, so a bad choice is refused with the valid ones
before anything trains.
"""

from keras_svae.experiment.presets import preset as find_preset


def select_experiments(experiments, names=None):
    """The experiments named in ``names`` (comma-separated file stems; None: all).

    Args:
        experiments: ``{name: spec}`` from `load_experiments`.
        names: the names to keep, e.g. "mnist-z10,mnist-z2", or None.

    Returns:
        The chosen ``{name: spec}``, in file order.

    Raises:
        ValueError: for a name that is not an experiment file, listing them.
    """
    if names is None:
        return experiments
    chosen = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in chosen if n not in experiments]
    if unknown or not chosen:
        raise ValueError(
            f"--experiments {names!r}: {unknown[0] if unknown else 'no name'} is not an "
            f"experiment file; choose from {', '.join(experiments)}."
        )
    return {n: experiments[n] for n in experiments if n in chosen}


def parse_presets(text):
    """The presets of a comma-separated list ("both" is "paper,library").

    Args:
        text: e.g. "paper,author", any case.

    Returns:
        The preset names, lower case, in the given order.

    Raises:
        ValueError: for an unknown or repeated preset.
    """
    names = ["paper", "library"] if text == "both" else [n.strip() for n in text.split(",")]
    for name in names:
        find_preset(name)  # names the valid presets
    if len(set(names)) != len(names):
        raise ValueError(f"--preset {text!r} names a preset twice.")
    return tuple(name.lower() for name in names)


def preset_seeds(seeds, preset):
    """The seeds of ``preset``: ``seeds`` is one tuple for every preset or a
    mapping ``{preset: seeds}`` (e.g. one paper-length seed, three library ones).

    Args:
        seeds: a tuple of seeds, or ``{preset: seeds}``.
        preset: the preset's name.

    Returns:
        A tuple of seeds.

    Raises:
        ValueError: when a mapping has no seeds for ``preset``.
    """
    if isinstance(seeds, dict):
        if preset not in seeds:
            raise ValueError(f"No seeds given for preset {preset!r}; seeds name {sorted(seeds)}.")
        return tuple(seeds[preset])
    return tuple(seeds)


def parse_seeds(text, presets, default):
    """``--seeds``: a number of seeds for every preset ("3") or one per preset
    ("paper=1,author=1,library=3"); None gives ``default`` seeds.

    Args:
        text: the option's text, or None.
        presets: the presets of the grid.
        default: the number of seeds when ``text`` is None.

    Returns:
        ``{preset: (0, ..., n - 1)}`` for every one of ``presets``.

    Raises:
        ValueError: for a count that is not a positive integer, a preset not
            in the grid, or one left without a count.
    """
    counts = {}
    if text is None or "=" not in str(text):
        counts = dict.fromkeys(presets, text if text is not None else default)
    else:
        for part in str(text).split(","):
            name, _, count = part.partition("=")
            counts[name.strip().lower()] = count.strip()
    unknown = sorted(set(counts) - set(presets))
    missing = [p for p in presets if p not in counts]
    if unknown or missing:
        raise ValueError(
            f"--seeds {text!r}: give one count, or one per preset of the grid "
            f"({', '.join(f'{p}=N' for p in presets)}); "
            + (f"{unknown[0]!r} is not in it." if unknown else f"{missing[0]!r} has none.")
        )
    seeds = {}
    for name, count in counts.items():
        if not str(count).isdigit() or int(count) < 1:
            raise ValueError(f"--seeds: the number of seeds is a positive integer, got {count!r}.")
        seeds[name] = tuple(range(int(count)))
    return seeds
