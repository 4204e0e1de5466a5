"""Installs the `higherhrnet` package from lib/ (the layout of the official repository)."""
from setuptools import find_packages, setup

setup(
    name="higherhrnet",
    version="0.1.0",
    description="Faithful, modern reimplementation of HigherHRNet (CVPR 2020) bottom-up human pose estimation",
    package_dir={"": "lib"},
    packages=find_packages("lib"),
    package_data={"higherhrnet": ["py.typed"]},  # the package ships type hints (PEP 561)
    python_requires=">=3.9",
    # torch is installed first, on its own (see the Makefile), so pip never pulls a CUDA build by accident.
    install_requires=["numpy", "opencv-python-headless", "yacs", "pyyaml", "munkres==1.1.4", "pycocotools",
                      "faster-coco-eval", "tqdm", "matplotlib", "tensorboard"],
    # pip install 'higherhrnet[onnx]': ONNX export and the onnxruntime backend; [scipy]: TEST.MATCHER scipy
    extras_require={"onnx": ["onnx", "onnxruntime"], "scipy": ["scipy"], "test": ["pytest"]},
    # the tools/ scripts are thin wrappers of the same functions, with the official command lines
    entry_points={"console_scripts": ["higherhrnet-demo=higherhrnet.demo:main",
                                      "higherhrnet-valid=higherhrnet.engine.valid_command:main",
                                      "higherhrnet-train=higherhrnet.engine.train_command:main",
                                      "higherhrnet-export=higherhrnet.export.cli:main",
                                      "higherhrnet-synthetic=higherhrnet.synthetic.cli:main"]},
)
