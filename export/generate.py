"""Draw samples from an export with LiteRT and numpy only, from a checkout (the
installed command is ``keras-svae-generate``; the logic is in
``keras_svae.cli.generate_main`` and ``keras_svae.export.generator``).

    python -m export.generate exported/x --n 64 --seed 0 --out grid.png
"""

import sys

from keras_svae.cli import generate_main

if __name__ == "__main__":
    sys.exit(generate_main())
