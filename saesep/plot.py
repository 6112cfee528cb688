"""The method's signature figure: J against iterations, layer additions marked."""

from __future__ import annotations

from pathlib import Path


def plot_history(history: dict | list, path, title: str = "", labels: list[str] | None = None) -> None:
    """Plot one history (or several, side by side in one axes) to a PNG.

    history: a model's ``history`` dict (``curve`` and ``layers_added``) or a list of them.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .audio import atomic_output

    hists = history if isinstance(history, list) else [history]
    labels = labels or [""] * len(hists)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (h, lab) in enumerate(zip(hists, labels)):
        c = colors[i % len(colors)]
        it = [p["iteration"] for p in h["curve"]]
        pre = f"{lab} " if lab else ""
        ax.plot(it, [p["J_train"] for p in h["curve"]], "-", color=c, label=f"{pre}J train")
        ax.plot(it, [p["J_valid"] for p in h["curve"]], "--", color=c, label=f"{pre}J valid")
        for ev in h.get("layers_added", []):
            ax.axvline(ev["iteration"], color=c, alpha=0.3, lw=1)
            ax.annotate(f"+L{ev['layer']}", (ev["iteration"], 1.0), xycoords=("data", "axes fraction"),
                        fontsize=7, color=c, ha="left", va="top")
    ax.set_xlabel("iteration")
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
