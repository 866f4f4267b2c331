"""Deploy a trained SparseVAE decoder as a generator (SavedModel and TFLite).

    python -m export --model runs/x/model.keras --out exported/x [--quantize float16 dynamic]
    python -m export.generate exported/x --n 64 --seed 0 --out grid.png

The export logic lives in ``keras_svae.export``. This package stays free of
imports so that ``python -m export.generate`` runs with numpy and ai_edge_litert
alone (no TensorFlow, Keras or keras_svae).
"""
