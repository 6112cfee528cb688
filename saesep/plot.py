"""The method's signature figure: J against iterations, layer additions (and collapses) marked."""

from __future__ import annotations

from pathlib import Path


def plot_history(history: dict | list, path, title: str = "", labels: list[str] | None = None,
                 x: str = "iteration") -> None:
    """Plot one history (or several, side by side in one axes) to a PNG.

    history: a model's ``history`` dict (``curve`` and ``layers_added``) or a list of them.
    x: ``"iteration"`` or ``"seconds"`` (training time; histories written by older versions lack it).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .files import atomic_output

    hists = history if isinstance(history, list) else [history]
    if x not in ("iteration", "seconds"):
        raise ValueError(f"x must be 'iteration' or 'seconds', not {x!r}")
    if x == "seconds" and any("seconds" not in p for h in hists for p in h["curve"] + h.get("layers_added", [])):
        raise ValueError("this history has no training times (written by an older saesep): plot against iterations")
    labels = labels or [""] * len(hists)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (h, lab) in enumerate(zip(hists, labels)):
        c = colors[i % len(colors)]
        curve = _with_jumps(h, x)
        it = [p[x] for p in curve]
        pre = f"{lab} " if lab else ""
        # measured on blocks of the pool of tracks being trained on (drawn again for each new pool)
        ax.plot(it, [p["J_train"] for p in curve], "-", color=c, label=f"{pre}J train (current pool)")
        ax.plot(it, [p["J_valid"] for p in curve], "--", color=c, label=f"{pre}J valid")
        for ev in h.get("layers_added", []):
            ax.axvline(ev[x], color=c, alpha=0.3, lw=1)
            ax.annotate(f"+L{ev['layer']}", (ev[x], 1.0), xycoords=("data", "axes fraction"),
                        fontsize=7, color=c, ha="left", va="top")
        for ev in h.get("lr_drops", []):  # a collapse: best weights restored, learning rate / 10
            ax.axvline(ev[x], color=c, alpha=0.5, lw=1, ls=":")
            ax.annotate(f"lr {ev['lr']:g}", (ev[x], 0.94), xycoords=("data", "axes fraction"),
                        fontsize=7, color=c, ha="left", va="top")
    ax.set_xlabel("iteration" if x == "iteration" else "training time (s)")
    ax.set_ylabel("normalised error J")
    ax.set_yscale("log")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    ax.set_title(title or "layer-wise training")
    fig.tight_layout()
    path = Path(path)
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


def _with_jumps(h: dict, x: str) -> list[dict]:
    """The curve with the error before each added layer repeated where the layer is in place,
    so that against time J stays flat while the least-squares solve runs, then drops."""
    curve = list(h["curve"])
    for ev in h.get("layers_added", []):
        for i, p in enumerate(curve):
            if p[x] == ev[x] and p["J_valid"] == ev["J_valid_after"] and p["J_train"] == ev["J_train_after"]:
                curve.insert(i, {x: ev[x], "J_train": ev["J_train_before"], "J_valid": ev["J_valid_before"]})
                break
    return curve
