import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data (MNIST, CIFAR-10, BSDS300) in ../shared/data next to the repository.

    Skips when it is absent (e.g. a fresh clone), except under CI=true, which
    always has the data, so a lost data mount fails loudly there.
    """
    path = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    if not path.is_dir():
        reason = f"../shared/data not found: the real-data tests need it at {path}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true, and CI always has the data)")
        pytest.skip(reason)
    return path
