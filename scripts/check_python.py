"""Refuse a Python that the set-up cannot serve, before anything is installed (run by `make`)."""

import sys

SUPPORTED = ((3, 10), (3, 12))  # mediapipe 0.10.21 (the 2D detector) has wheels for 3.9-3.12 only

if __name__ == "__main__":
    here = sys.version_info[:2]
    if not SUPPORTED[0] <= here <= SUPPORTED[1]:
        low, high = (".".join(map(str, v)) for v in SUPPORTED)
        sys.exit(f"poselift's set-up needs Python {low}-{high} (this is {here[0]}.{here[1]}: mediapipe 0.10.21, the "
                 f"2D detector, has no wheel for it). Install one and run e.g. `make test PYTHON=python3.12`.")
