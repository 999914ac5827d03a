"""Which device torch code trains on: ``ECOMOPS_TORCH_DEVICE=auto|cpu|cuda`` (auto: CUDA when present)."""

from __future__ import annotations

import os


def torch_device(preference: str | None = None):
    import torch

    choice = (preference or os.environ.get("ECOMOPS_TORCH_DEVICE") or "auto").lower()
    if choice == "cpu":
        return torch.device("cpu")
    if choice == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError("ECOMOPS_TORCH_DEVICE=cuda but no CUDA device is available")
        return torch.device("cuda")
    if choice != "auto":
        raise ValueError(f"ECOMOPS_TORCH_DEVICE must be auto, cpu or cuda, not {choice!r}")
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
