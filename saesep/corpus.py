"""Multitrack corpus builder: real scores (music21) rendered per role with sampled instruments (fluidsynth).

Writes ``OUT/{train,valid,test}/<track>/{mixture,bass,lead,other,drums}.flac`` and
``OUT/corpus.json``. ``test`` uses other collections (unseen music) *and* the
TimGM6mb SoundFont (unseen timbres); train/valid use FluidR3_GM. Every track is a
function of (seed, split, index), so the same seed and package versions give the
same files, whatever ``--jobs``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import time
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .errors import SaesepError
from .files import atomic_output

SAMPLE_RATE = 44100
ROLES = ("bass", "lead", "other", "drums")
SF2_DIRS = ("/usr/share/sounds/sf2", "/usr/share/sounds/sf3", "/usr/share/soundfonts", "/usr/local/share/soundfonts",
            "/usr/lib/lv2/avldrums.lv2")
# the SoundFont(s) of each split; a comma-separated list is used in turn, track by track
SOUNDFONTS = {"train": "FluidR3_GM.sf2", "valid": "FluidR3_GM.sf2", "test": "TimGM6mb.sf2"}
BAND_SOUNDFONTS = {"train": "FluidR3_GM.sf2,MuseScore_General.sf3,sf_GMbank.sf2",
                   "valid": "FluidR3_GM.sf2,MuseScore_General.sf3,sf_GMbank.sf2", "test": "TimGM6mb.sf2"}
SF2_PACKAGES = {"FluidR3_GM.sf2": "fluid-soundfont-gm", "TimGM6mb.sf2": "timgm6mb-soundfont",
                "OPL-3_FM_128M.sf2": "opl3-soundfont", "sf_GMbank.sf2": "csound-soundfont",
                "MuseScore_General.sf3": "musescore-general-soundfont-small"}

# Collections by split: test pieces come from collections never used for train/valid.
TRAIN_COLLECTIONS = ("bach", "palestrina", "haydn", "mozart")
TEST_COLLECTIONS = ("monteverdi", "beethoven", "trecento")
VALID_SHARE = 10  # one piece in 10 of the train collections is held out for valid

# (GM program, lowest, highest MIDI pitch) per instrument, by role.
INSTRUMENTS = {
    "bass": {"acoustic bass": (32, 28, 55), "electric bass (finger)": (33, 28, 55), "fretless bass": (35, 28, 55),
             "contrabass": (43, 28, 55), "cello": (42, 36, 67), "bassoon": (70, 34, 65), "tuba": (58, 29, 58),
             "synth bass": (38, 28, 55)},
    "lead": {"violin": (40, 55, 96), "flute": (73, 60, 96), "clarinet": (71, 50, 89), "oboe": (68, 58, 91),
             "trumpet": (56, 55, 82), "alto sax": (65, 49, 80), "choir aahs": (52, 48, 79), "voice oohs": (53, 48, 79)},
    "other": {"acoustic piano": (0, 36, 96), "electric piano": (4, 36, 96), "church organ": (19, 36, 96),
              "nylon guitar": (24, 40, 84), "steel guitar": (25, 40, 84), "string ensemble": (48, 36, 96),
              "french horn": (60, 41, 77), "viola": (41, 48, 84), "harp": (46, 36, 96), "accordion": (21, 41, 89)},
}


@dataclass
class Size:
    tracks: dict
    seconds: float


SIZES = {
    # name: tracks per split, seconds per track
    "tiny": Size({"train": 8, "valid": 2, "test": 3}, 8.0),
    "small": Size({"train": 60, "valid": 8, "test": 12}, 15.0),
    "medium": Size({"train": 500, "valid": 40, "test": 60}, 20.0),
}
# the band style: a medium corpus holds 5 h of training audio
BAND_SIZES = {
    "tiny": Size({"train": 8, "valid": 2, "test": 3}, 8.0),
    "small": Size({"train": 90, "valid": 10, "test": 12}, 20.0),
    "medium": Size({"train": 900, "valid": 60, "test": 60}, 20.0),
}
STYLES = ("classical", "band")


def extra_render_path(root, name: str) -> Path:
    """Where an extra render of corpus ``root`` lives (``corpora/medium`` + ``gmbank`` →
    ``corpora/medium-gmbank``): written by ``scripts/make_models.py``, read by the benchmarks."""
    root = Path(root)
    return root.with_name(f"{root.name}-{name}")


def find_soundfont(name: str) -> Path:
    """A SoundFont by file name (looked up in the system's SoundFont folders) or by path."""
    if Path(name).is_file():
        return Path(name)
    for d in SF2_DIRS:
        p = Path(d) / name
        if p.exists():
            return p
    pkg = SF2_PACKAGES.get(name)
    raise SaesepError(f"SoundFont {name} not found" + (f"; install it with: apt-get install {pkg}" if pkg
                                                       else f" in {', '.join(SF2_DIRS)} (give a path to a .sf2 file)"))


def _check_tools():
    try:
        import fluidsynth  # noqa: F401  (pyfluidsynth; needs Debian's libfluidsynth3)
    except Exception as e:
        raise SaesepError("fluidsynth is not available; install it with: apt-get install fluidsynth && "
                          "pip install pyfluidsynth") from e
    try:
        import music21  # noqa: F401
    except Exception as e:
        raise SaesepError("music21 is not installed; install it with: pip install 'saesep[corpus]'") from e


def list_pieces(collection: str) -> list[str]:
    """Corpus paths of a music21 collection (score formats only), sorted."""
    from music21 import corpus

    paths = corpus.getComposer(collection)
    keep = [p for p in paths if str(p).endswith((".mxl", ".xml", ".krn", ".musicxml"))]
    return sorted(str(p).split("/corpus/")[-1] for p in keep)


def split_pieces() -> dict[str, list[str]]:
    """Pieces by split. valid: every VALID_SHARE-th piece (by hash) of the train collections."""
    train, valid, test = [], [], []
    for c in TRAIN_COLLECTIONS:
        for p in list_pieces(c):
            (valid if zlib.crc32(p.encode()) % VALID_SHARE == 0 else train).append(p)
    for c in TEST_COLLECTIONS:
        test.extend(list_pieces(c))
    return {"train": train, "valid": valid, "test": test}


def piece_notes(path: str) -> dict:
    """Notes per part of a score: ``{"parts": [[(onset_q, dur_q, midi), …], …], "ts": (num, den), "length_q"}``.

    Ties are merged by hand (music21's stripTies is very slow on long quartets).
    """
    from music21 import corpus

    score = corpus.parse(path)
    parts = []
    for part in score.parts:
        notes, open_ties = [], {}
        for n in part.flatten().notes:
            on, dur = float(n.offset), float(n.quarterLength)
            if dur <= 0:
                continue
            tie = n.tie.type if n.tie is not None else None
            for p in n.pitches:
                m = int(p.midi)
                if tie in ("continue", "stop") and m in open_ties:
                    i = open_ties[m]
                    notes[i] = (notes[i][0], on + dur - notes[i][0], m)
                    if tie == "stop":
                        del open_ties[m]
                    continue
                notes.append((on, dur, m))
                if tie == "start":
                    open_ties[m] = len(notes) - 1
        if notes:
            parts.append(sorted(notes))
    ts = score.recurse().getElementsByClass("TimeSignature").first()
    return {"parts": parts, "ts": (ts.numerator, ts.denominator) if ts else (4, 4),
            "length_q": float(score.highestTime)}


def _fit_octave(notes, lo, hi) -> int:
    """Octave shift (semitones) that brings the part's mean pitch into the instrument's range."""
    mean = float(np.mean([p for _, _, p in notes]))
    shift = 0
    while mean + shift < lo + 5 and shift < 36:
        shift += 12
    while mean + shift > hi - 5 and shift > -36:
        shift -= 12
    return shift


def drum_part(length_s: float, qpm: float, ts: tuple, rng) -> list:
    """A GM drum part arranged to the metre: (onset_s, dur_s, key, velocity)."""
    num, den = ts
    beat_q = 4.0 / den * (3 if den == 8 and num % 3 == 0 and num > 3 else 1)  # compound metre: dotted beats
    beats = max(1, num // 3 if beat_q > 4.0 / den else num)
    q = 60.0 / qpm
    bar_s = beats * beat_q * q
    sub = 3 if beat_q > 4.0 / den else 2
    ev = []
    hat = rng.choice([42, 42, 44, 51])  # closed/pedal hi-hat or ride
    fill_every = int(rng.choice([4, 8]))
    t, bar = 0.0, 0
    while t < length_s:
        for b in range(beats):
            bt = t + b * beat_q * q
            if b == 0 or (beats >= 4 and b == beats // 2 and rng.random() < 0.8):
                ev.append((bt, 0.1, 36, int(rng.integers(90, 120))))
            if b % 2 == 1:
                ev.append((bt, 0.1, 38, int(rng.integers(80, 115))))
            for s in range(sub):
                ev.append((bt + s * beat_q * q / sub, 0.05, int(hat), int(rng.integers(50, 90))))
        if bar == 0:
            ev.append((t, 0.5, 49, 100))
        if bar % fill_every == fill_every - 1:
            ev.append((t + bar_s - beat_q * q / 2, 0.1, int(rng.choice([45, 47, 50])), 100))
        t += bar_s
        bar += 1
    return [e for e in ev if e[0] < length_s]


# fluidsynth's warnings and errors of this process (see _capture_synth_log)
_SYNTH_LOG: list[str] = []


@functools.cache
def _capture_synth_log(fluidsynth):
    """Route fluidsynth's warnings and errors into ``_SYNTH_LOG`` instead of stderr, once per
    process: a dense part (a pad's long chords) prints hundreds of lines about voices it
    could not allocate and events it dropped, which buried a corpus build's progress bar.
    Returns the callback, which the cache keeps alive as long as fluidsynth may call it."""
    import ctypes

    proto = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)
    hook = proto(lambda level, message, data: _SYNTH_LOG.append(message.decode(errors="replace")))
    set_log = fluidsynth._fl.fluid_set_log_function
    set_log.argtypes = [ctypes.c_int, proto, ctypes.c_void_p]
    for level in (1, 2):  # FLUID_ERR, FLUID_WARN
        set_log(level, hook, None)
    return hook


def render_part(sf2: Path, program: int, events: list, n_samples: int, pan: int, drums: bool = False,
                ccs: dict | None = None, bank: int | None = None, preset: int | None = None,
                log: list | None = None) -> np.ndarray:
    """Render (onset_s, dur_s, key, velocity) events to ``(2, n_samples)`` float32.

    ``ccs``: MIDI controllers set before the first note (74 filter cutoff, 71 resonance,
    1 vibrato, 91 reverb and 93 chorus sends); ``bank``/``preset``: the instrument (default:
    GM ``program``, or the standard kit for ``drums``).
    A fresh Synth per part: reusing one changes the output (see shared/DATA.md).
    The render is bounded: we ask for exactly ``n_samples``, so looped samples that
    never fall silent cannot make it run on. ``log``: gets fluidsynth's warnings of this
    render (notes it dropped when a part needs more voices than it has), which are
    not printed.
    """
    import fluidsynth

    _capture_synth_log(fluidsynth)
    _SYNTH_LOG.clear()

    # samples loaded as notes need them: the same output, and a compressed .sf3 loads in
    # milliseconds instead of seconds
    fs = fluidsynth.Synth(samplerate=float(SAMPLE_RATE), gain=0.5, **{"synth.dynamic-sample-loading": 1})
    try:
        sfid = fs.sfload(str(sf2))
        if sfid < 0:
            raise SaesepError(f"cannot load SoundFont {sf2}")
        chan = 9 if drums else 0
        fs.program_select(chan, sfid, bank if bank is not None else (128 if drums else 0),
                          preset if preset is not None else (0 if drums else program))
        fs.cc(chan, 10, pan)
        for cc, value in (ccs or {}).items():
            fs.cc(chan, int(cc), int(value))
        timeline = []
        for on, dur, key, vel in events:
            timeline.append((on, 1, key, vel))
            timeline.append((on + dur, 0, key, 0))
        timeline.sort(key=lambda e: (e[0], e[1]))
        chunks, cur = [], 0
        for t, kind, key, vel in timeline:
            target = min(int(round(t * SAMPLE_RATE)), n_samples)
            if target > cur:
                chunks.append(fs.get_samples(target - cur))
                cur = target
            if kind:
                fs.noteon(chan, key, vel)
            else:
                fs.noteoff(chan, key)
        fs.cc(chan, 123, 0)  # all notes off
        if n_samples > cur:
            chunks.append(fs.get_samples(n_samples - cur))
    finally:
        fs.delete()
        if log is not None:
            log.extend(_SYNTH_LOG)
    a = np.concatenate(chunks).astype(np.float32) / 32768.0
    return a.reshape(-1, 2).T[:, :n_samples]


@dataclass
class TrackPlan:
    split: str
    index: int
    name: str
    piece: str
    seed: int
    seconds: float
    soundfont: str
    info: dict = field(default_factory=dict)


def _track_seed(seed: int, split: str, index: int) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}/{split}/{index}".encode()).digest()[:8], "little")


def build_track(plan: TrackPlan, out: Path) -> dict:
    """Plan the arrangement of one excerpt, render its stems and write them. Returns its record."""
    rng = np.random.default_rng(plan.seed)
    try:
        piece = piece_notes(plan.piece)
    except Exception as e:  # a score music21 cannot read: recorded and skipped
        return {**asdict(plan), "error": f"{type(e).__name__}: {e}"[:200]}
    parts = [p for p in piece["parts"] if p]
    if len(parts) < 2:
        return {**asdict(plan), "error": "fewer than two parts"}
    durs = np.concatenate([[d for _, d, _ in p] for p in parts])
    # tempo: the median note lasts 0.25–0.6 s whatever the notation's note values
    qpm = float(60.0 * np.median(durs) / rng.uniform(0.25, 0.6))
    length_q = plan.seconds * qpm / 60.0
    transpose = int(rng.integers(-3, 4))
    start_q = 0.0
    for _ in range(10):  # an excerpt where the top and bottom parts both play
        start_q = float(rng.uniform(0, max(0.0, piece["length_q"] - length_q)))
        inside = [[n for n in p if start_q <= n[0] < start_q + length_q] for p in parts]
        if len(inside[0]) > 2 and len(inside[-1]) > 2 or piece["length_q"] <= length_q:
            break
    inside = [[n for n in p if start_q <= n[0] < start_q + length_q] for p in parts]
    playing = [(p, np.mean([m for _, _, m in p])) for p in inside if p]
    if len(playing) < 2:
        return {**asdict(plan), "error": "excerpt has fewer than two sounding parts"}
    playing.sort(key=lambda x: x[1])
    roles = ["bass"] + ["other"] * (len(playing) - 2) + ["lead"]
    sf2 = find_soundfont(plan.soundfont)
    n = int(round(plan.seconds * SAMPLE_RATE))
    sec_per_q = 60.0 / qpm
    stems: dict[str, np.ndarray] = {}
    parts_info = []
    for (notes, _), role in zip(playing, roles):
        name = str(rng.choice(sorted(INSTRUMENTS[role])))
        program, lo, hi = INSTRUMENTS[role][name]
        shift = transpose + _fit_octave(notes, lo, hi)
        gain_db = float(rng.uniform(-9, 0))
        pan = int(rng.integers(24, 104))
        events = [((on - start_q) * sec_per_q, min(d, start_q + length_q - on) * sec_per_q * 0.98,
                   int(np.clip(m + shift, 0, 127)), int(rng.integers(70, 110))) for on, d, m in notes]
        log: list[str] = []
        audio = render_part(sf2, program, events, n, pan, log=log) * 10 ** (gain_db / 20)
        stems[role] = stems.get(role, 0) + audio
        parts_info.append({"role": role, "instrument": name, "program": program, "shift": shift,
                           "gain_db": round(gain_db, 2), "pan": pan, "notes": len(notes), **synth_warnings(log)})
    with_drums = bool(rng.random() < 0.5)
    if with_drums:
        gain_db = float(rng.uniform(-12, -3))
        log = []
        stems["drums"] = render_part(sf2, 0, drum_part(plan.seconds, qpm, piece["ts"], rng), n, 64, drums=True,
                                     log=log) * 10 ** (gain_db / 20)
        parts_info.append({"role": "drums", "instrument": "GM drum kit", "gain_db": round(gain_db, 2), **synth_warnings(log)})
    # no clipping: scale the track so the mixture peaks at most at 0.9, quantise stems to 16 bit and
    # build the mixture as their exact integer sum
    peak = float(np.abs(sum(stems.values())).max())
    scale = min(1.0, 0.9 / peak) if peak > 0 else 1.0
    ints = {r: np.round(a * scale * 32767).astype(np.int32) for r, a in stems.items()}
    mix = sum(ints.values())
    if np.abs(mix).max() > 32767:
        raise SaesepError(f"{plan.name}: mixture would clip")
    write_track(out / plan.split / plan.name, ints)
    return {**asdict(plan), "tempo_qpm": round(qpm, 2), "transpose": transpose, "start_quarter": round(start_q, 3),
            "time_signature": list(piece["ts"]), "scale": round(scale, 5), "drums": with_drums,
            "stems": sorted(ints), "parts": parts_info}


def synth_warnings(log: list[str]) -> dict:
    """A part's record of what fluidsynth warned about while rendering it (nothing when silent)."""
    return {"synth_warnings": {"count": len(log), "first": log[0]}} if log else {}


def write_track(folder: Path, ints: dict) -> None:
    """Write 16-bit stems ``{role: (2, n) int}`` and their exact integer sum as ``mixture``
    into ``folder``, each file under a hidden name first."""
    import soundfile as sf

    folder.mkdir(parents=True, exist_ok=True)
    for r, a in {**ints, "mixture": sum(ints.values())}.items():
        with atomic_output(folder / f"{r}.flac") as tmp:
            sf.write(tmp, a.T.astype(np.int16), SAMPLE_RATE, format="FLAC", subtype="PCM_16")


def _build_one(args):
    """Build one track, or reuse it: a track a killed build finished (its record is written
    last, beside its stems) is not rendered again, so rerunning the command resumes."""
    plan, out = args
    folder = out / plan.split / plan.name
    done = folder / ".record.json"
    if done.exists():
        try:
            rec = json.loads(done.read_text())
            if rec.get("seed") == plan.seed and rec.get("soundfont") == plan.soundfont and \
                    all((folder / f"{s}.flac").exists() for s in [*rec["stems"], "mixture"]):
                return rec
        except (ValueError, KeyError, TypeError):
            pass  # a damaged record: build the track again
    if plan.info.get("style") == "band":
        from .band import build_band_track

        rec = build_band_track(plan, out, SAMPLE_RATE, render_part, find_soundfont)
    else:
        rec = build_track(plan, out)
    if "error" not in rec:
        with atomic_output(done) as tmp:
            tmp.write_text(json.dumps(rec))
    return rec


def _interleave_collections(pieces: list[str], rng) -> list[str]:
    """Shuffle each collection, then take one piece of each in turn, so that a large
    collection (1,300 Palestrina movements) does not crowd out the others."""
    groups: dict[str, list[str]] = {}
    for p in pieces:
        groups.setdefault(p.split("/")[0], []).append(p)
    shuffled = [[g[i] for i in rng.permutation(len(g))] for _, g in sorted(groups.items())]
    out = []
    for k in range(max(len(g) for g in shuffled)):
        for i in rng.permutation(len(shuffled)):
            if k < len(shuffled[i]):
                out.append(shuffled[i][k])
    return out


def plans(size: str, seed: int, soundfonts: dict | None = None, splits=None, style: str = "classical") -> list[TrackPlan]:
    """The tracks to build: pieces drawn per split from the split's collections.

    soundfonts: ``{split: file}`` replacing the default SoundFont of those splits;
    splits: build only these. Neither changes what a track plays (pieces,
    instruments, gains, excerpts are functions of seed, split and index), so a split
    rendered with another SoundFont differs from the default one in its samples only.
    """
    if style not in STYLES:
        raise SaesepError(f"unknown corpus style '{style}' (choose {', '.join(STYLES)})")
    sizes = BAND_SIZES if style == "band" else SIZES
    if size not in sizes:
        raise SaesepError(f"unknown corpus size '{size}' (choose {', '.join(sizes)})")
    spec = sizes[size]
    fonts = {**(BAND_SOUNDFONTS if style == "band" else SOUNDFONTS), **(soundfonts or {})}
    bad = sorted(set(fonts) - set(spec.tracks)) + sorted(set(splits or ()) - set(spec.tracks))
    if bad:
        raise SaesepError(f"unknown split(s) {', '.join(bad)} (choose {', '.join(spec.tracks)})")
    if style == "band":
        return _band_plans(spec, seed, fonts, splits)
    pieces = split_pieces()
    out = []
    for split, count in spec.tracks.items():
        if splits and split not in splits:
            continue
        rng = np.random.default_rng(_track_seed(seed, split, -1))
        pool = _interleave_collections(pieces[split], rng)
        for i in range(count):
            piece = pool[i % len(pool)]
            name = f"{i:04d}_{Path(piece).parent.name}_{Path(piece).stem}".replace(" ", "_")[:60]
            out.append(TrackPlan(split, i, name, piece, _track_seed(seed, split, i), spec.seconds,
                                 _font_of(fonts[split], i)))
    return out


def _band_plans(spec: Size, seed: int, fonts: dict, splits) -> list[TrackPlan]:
    from . import band

    tunes, groove_split = band.split_tunes(), band.split_grooves()
    out = []
    for split, count in spec.tracks.items():
        if splits and split not in splits:
            continue
        for i in range(count):
            s = _track_seed(seed, split, i)
            info = band.plan_info(split, i, s, tunes, groove_split)
            name = f"{i:04d}_{info['groove_file']}_{Path(info['tune']).stem}".replace(" ", "_")[:60]
            out.append(TrackPlan(split, i, name, info["tune"], s, spec.seconds, _font_of(fonts[split], i), info))
    return out


def _font_of(fonts: str, index: int) -> str:
    """The SoundFont of a split's track ``index``: a comma-separated list is used in turn."""
    names = [f.strip() for f in fonts.split(",") if f.strip()]
    if not names:
        raise SaesepError(f"no SoundFont named in '{fonts}'")
    return names[index % len(names)]


def build(out, size: str = "tiny", seed: int = 0, jobs: int | None = None, progress: bool = True,
          soundfonts: dict | None = None, splits=None, style: str = "classical") -> dict:
    """Build a corpus into ``out``; returns the ``corpus.json`` record.

    ``soundfonts`` and ``splits`` as in :func:`plans`: e.g. ``soundfonts={"test":
    "FluidR3_GM.sf2"}, splits=["test"]`` renders the test split's tracks with the
    training instruments, to measure what the unseen timbres cost.
    """
    from .workers import process_pool

    # spawn, not fork: a forked child can inherit a lock held by fluidsynth's or torch's threads and hang

    from tqdm.auto import tqdm

    _check_tools()
    if style == "band":
        from .band import check_tools

        check_tools()
    todo = plans(size, seed, soundfonts, splits, style)
    splits_fonts: dict = {}  # each split's fonts in the order its tracks use them
    for p in todo:
        splits_fonts.setdefault(p.split, {})[p.soundfont] = None
    fonts = {split: ",".join(names) for split, names in splits_fonts.items()}
    for f in {p.soundfont for p in todo}:
        find_soundfont(f)
    out = Path(out)
    old = _previous_build(out, size, seed, style)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    jobs = jobs or os.cpu_count() or 1
    records = []
    with tqdm(total=len(todo), disable=not progress, unit="track", desc=f"corpus {style} {size}") as bar:
        # always in worker processes, even one: fluidsynth's last bits can depend on what a process
        # loaded before, and fresh workers load the same things
        with process_pool(jobs) as pool:
            for rec in pool.imap(_build_one, [(p, out) for p in todo]):
                records.append(rec)
                bar.update(1)
    import music21
    import soundfile

    from . import band

    spec = (BAND_SIZES if style == "band" else SIZES)[size]
    failed = [r for r in records if "error" in r]
    if old:  # a folder built before: the splits not rebuilt now keep their records
        records = [r for r in old["tracks"] if r["split"] not in fonts] + records
        fonts = {s: fonts.get(s) or old["soundfonts"][s] for s in spec.tracks
                 if s in fonts or s in old["soundfonts"]}
    meta = {"style": style, "size": size, "seed": seed, "sample_rate": SAMPLE_RATE, "seconds_per_track": spec.seconds,
            "splits": {s: sum(1 for r in records if r["split"] == s and "error" not in r) for s in fonts},
            "collections": ({s: ["music21 " + band.TUNE_COLLECTION, "mma grooves: " + ", ".join(band.split_grooves()[s])]
                             for s in fonts} if style == "band" else
                            {s: list(TEST_COLLECTIONS if s == "test" else TRAIN_COLLECTIONS) for s in fonts}),
            "soundfonts": fonts,
            "versions": {"music21": music21.__version__, "soundfile": soundfile.__version__,
                         "fluidsynth": _fluidsynth_version()},
            "build_seconds": round(time.time() - t0, 1), "failed": len(failed), "tracks": records}
    with atomic_output(out / "corpus.json") as tmp:
        tmp.write_text(json.dumps(meta, indent=1))
    return meta


def _previous_build(out: Path, size: str, seed: int, style: str = "classical") -> dict | None:
    """The ``corpus.json`` already in ``out``, if any; a corpus of another size or seed is refused."""
    f = out / "corpus.json"
    if not f.exists():
        return None
    try:
        old = json.loads(f.read_text())
        have = (old["size"], old["seed"], old.get("style", "classical"))
    except (ValueError, KeyError, TypeError) as e:
        raise SaesepError(f"cannot read '{f}' ({e}); build into another folder") from e
    if have != (size, seed, style):
        raise SaesepError(f"'{out}' holds a {have[2]} {have[0]} corpus with seed {have[1]}; build the {style} "
                          f"{size} corpus with seed {seed} into another folder")
    return old


def _fluidsynth_version() -> str:
    try:
        import ctypes
        import ctypes.util

        lib = ctypes.CDLL(ctypes.util.find_library("fluidsynth"))
        lib.fluid_version_str.restype = ctypes.c_char_p
        return lib.fluid_version_str().decode()
    except Exception:
        return "unknown"


def corpus_info(root) -> dict:
    """Tracks, hours and stems per split of a track folder (this corpus or any MUSDB-style one)."""
    import soundfile as sf

    from .datasets import find_tracks

    root = Path(root)
    res = {}
    for split in sorted(p.name for p in root.iterdir() if p.is_dir()):
        try:
            tracks = find_tracks(root, split)
        except SaesepError:
            continue
        secs, stems = 0.0, {}
        for t in tracks:
            f = t.mixture or next(iter(t.stems.values()))
            secs += sf.info(str(f)).duration
            for s in t.stems:
                stems[s] = stems.get(s, 0) + 1
        res[split] = {"tracks": len(tracks), "hours": round(secs / 3600, 3), "stems": stems}
    if not res:
        raise SaesepError(f"no splits with tracks in '{root}'")
    return res
