"""The built-in models and roles: one file per role, ``<target>.pt``, and which models a
command runs for a target. The "other takes a share of the rest" policy lives here.

``other`` is the stem of everything else: with the four roles running together, it is
its own estimate averaged with what the other three leave of the mixture
(:func:`auto_rest_target`; docs/models.md has the measurement).
"""

from __future__ import annotations

from pathlib import Path

from ..errors import SaesepError

MODELS_DIR = Path(__file__).parent
ROLES = ("bass", "lead", "other", "drums")
DEFAULT_TARGET = "bass"
REST_ROLE = "other"


def available() -> dict[str, Path]:
    """``{target: path}`` of the built-in models."""
    return {p.stem: p for p in sorted(MODELS_DIR.glob("*.pt"))}


def path_for(target: str) -> Path:
    models = available()
    if target not in models:
        have = ", ".join(models) or "none"
        raise SaesepError(f"no built-in model for '{target}' (built-in: {have}); pass --model FILE")
    return models[target]


def auto_rest_target(targets) -> str | None:
    """The target that takes a share of the rest when ``rest_to`` is ``auto``: other, when
    all four roles run together; else none."""
    return REST_ROLE if set(ROLES) <= set(targets) else None


def _all_roles_first(target: str | None) -> list[str]:
    avail = available()
    if not avail:
        raise SaesepError("no built-in models are installed; pass --model FILE")
    first = [str(path_for(target))] if target else []
    return first + [str(p) for t, p in avail.items() if t != target]


def choose(target: str | None, model_paths=(), rest_to: str | None = "auto") -> tuple[list[str], tuple | None]:
    """The model files to run for ``target`` and the outputs to keep (None: every model's).

    With model files given, they run as given. Without: ``all`` runs every built-in model;
    a role that takes a share of the rest (other under ``auto``, or the role named by
    ``rest_to``) runs all four and keeps that role; any other target runs its own model
    (default: bass).
    """
    if model_paths:
        return [str(p) for p in model_paths], None
    if target == "all":
        return _all_roles_first(None), None
    target = target or DEFAULT_TARGET
    takes_rest = rest_to == target or (rest_to == "auto" and target == REST_ROLE)
    if target in ROLES and set(ROLES) <= set(available()) and takes_rest:
        return _all_roles_first(target), (target,)
    return [str(path_for(target))], None
