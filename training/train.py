"""Train sparse VAE variants from a checkout (the installed command is ``keras-svae-train``).

python -m training.train                      # the three variants on synthetic patches
python -m training.train --prior cauchy --epochs 50 --out runs/
"""

import sys

from keras_svae.cli import train_main

if __name__ == "__main__":
    sys.exit(train_main())
