"""Install keras_svae (the library) and its command lines (training, export)."""

from setuptools import find_packages, setup

setup(
    name="keras-svae",
    version="0.1.0",
    description="Sparse variational auto-encoders (Normal, Laplace, Cauchy priors) "
    "for Keras 3 and TensorFlow Probability",
    packages=find_packages(include=["keras_svae", "keras_svae.*", "training", "export"]),
    python_requires=">=3.10",
    install_requires=[
        "tensorflow>=2.21,<2.22",
        "keras>=3.15,<4",
        "tensorflow-probability>=0.25,<0.26",
        "tf-keras>=2.21,<2.22",
        "tensorflow-datasets>=4.9",
        "tensorboard>=2.21",
        "numpy",
        "matplotlib",
    ],
    extras_require={"export": ["ai-edge-litert>=2.3"], "test": ["pytest", "scipy"]},
)
