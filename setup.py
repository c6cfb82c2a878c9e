"""Install ecg-digitize: paper ECG images to calibrated signals, plus 1D classifiers."""
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent

setup(
    name="ecg-digitize",
    version="0.1.0",
    description=(
        "Turn pictures of electrocardiograms into calibrated time series, "
        "and classify them with pretrained 1D networks."
    ),
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.10",
    packages=find_packages(include=["ecg_digitize*", "classifiers*", "pretrained*"]),
    package_data={"pretrained": ["*.keras", "*.json", "*.md", "*.png"],
                  # the quality model's coefficients and the web page's files
                  "ecg_digitize.digitizer": ["*.json"],
                  "ecg_digitize.web": ["static/*"]},
    include_package_data=True,
    install_requires=[
        "numpy>=1.24",
        "scipy>=1.10",
        "scikit-image>=0.21",
        "opencv-python-headless>=4.8",
        "matplotlib>=3.7",
        "wfdb>=4.1",
        "neurokit2>=0.2.7",
        "pandas>=2.0",
        "pillow>=10.0",
        "tqdm>=4.65",
        # lazy imports of subpackages (as scikit-image does)
        "lazy_loader>=0.3",
        "pypdfium2>=4.20",
        # compiles the trace-following Viterbi (imported on the first digitize, not at import)
        "numba>=0.59",
    ],
    extras_require={
        # Neural parts (classifiers, U-Net) import these lazily.
        "neural": ["tensorflow-cpu>=2.16; platform_machine=='x86_64'",
                   "tensorflow>=2.16; platform_machine!='x86_64'",
                   "keras>=3.0",
                   # the U-Net's CPU interpreter; tf.lite's own is deprecated (used if absent)
                   "ai-edge-litert>=1.0; platform_system=='Linux'"],
        "cluster": ["dask[distributed]>=2023.1"],
        # swagger-ui-py ships Swagger UI's files, so /docs works offline.
        "web": ["fastapi>=0.110", "uvicorn>=0.27", "python-multipart>=0.0.9",
                "swagger-ui-py>=25.7"],
        # httpx: FastAPI's TestClient; playwright drives Debian's chromium (no browser download).
        "test": ["pytest>=7.4", "httpx>=0.27", "playwright>=1.40", "psutil>=5.9"],
    },
    entry_points={
        "console_scripts": [
            "ecg-digitize=ecg_digitize.cli:main",
            "ecg-classify=classifiers.cli:main",
        ]
    },
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Medical Science Apps.",
    ],
)
