"""Export a SparseVAE's decoder from a checkout (the installed command is ``keras-svae-export``).

python -m export --model runs/x/model.keras --out exported/x
python -m export --model runs/x/model.keras --out exported/x --quantize float16 dynamic --overwrite
"""

import sys

from keras_svae.cli import export_main

if __name__ == "__main__":
    sys.exit(export_main())
