"""Built-in models shipped with the package: one file per role, ``<target>.pt``."""

from __future__ import annotations

from pathlib import Path

from ..errors import SaesepError

MODELS_DIR = Path(__file__).parent


def available() -> dict[str, Path]:
    """``{target: path}`` of the built-in models."""
    return {p.stem: p for p in sorted(MODELS_DIR.glob("*.pt"))}


def path_for(target: str) -> Path:
    models = available()
    if target not in models:
        have = ", ".join(models) or "none"
        raise SaesepError(f"no built-in model for '{target}' (built-in: {have}); pass --model FILE")
    return models[target]
