"""saesep: extract one instrument from music with a layer-wise trained DNN (Uhlich et al., 2015).

The Python API (the CLI is a thin layer over it)::

    from saesep import load_model, separate, extract_file, train, evaluate, combine_models
"""

__version__ = "0.1.0"

_API = {
    "load_model": ("saesep.model", "load"),
    "save_model": ("saesep.model", "save"),
    "combine_models": ("saesep.model", "combine"),
    "separate": ("saesep.separation", "separate"),
    "extract_file": ("saesep.extract", "extract_file"),
    "SeparationOptions": ("saesep.separation", "SeparationOptions"),
    "train": ("saesep.training", "train"),
    "evaluate": ("saesep.evaluation", "evaluate"),
    "SaesepError": ("saesep.errors", "SaesepError"),
}


def __getattr__(name):
    # lazy, so that `import saesep` stays cheap (torch is imported on first use)
    if name in _API:
        import importlib

        mod, attr = _API[name]
        return getattr(importlib.import_module(mod), attr)
    raise AttributeError(name)


__all__ = list(_API)
