"""saesep: extract one instrument from music with a layer-wise trained DNN (Uhlich et al., 2015)."""

__version__ = "0.1.0"
