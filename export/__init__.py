"""Thin ``python -m`` entry points for a checkout; the installed commands are
``keras-svae-export`` and ``keras-svae-generate`` (logic in ``keras_svae.cli``).

    python -m export --model runs/x/model.keras --out exported/x [--quantize float16 dynamic]
    python -m export.generate exported/x --n 64 --seed 0 --out grid.png
"""
