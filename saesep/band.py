"""The band style of the corpus: songs arranged as bands play them.

A folk tune from music21's corpus (a melody, harmonised bar by bar with the diatonic
triads that cover most of its notes) becomes a chord chart; Debian's ``mma`` arranges
the chart into drums, bass and comping in one of its grooves (rock, swing, funk, bossa,
country, waltz, blues, reggae…), with a new variation of the groove every few bars and a
fill before each; the melody is the lead. Every part is rendered on its own with
fluidsynth (instrument, filter, vibrato, reverb and chorus sends drawn per part; drums
from the SoundFont's kits or from recorded kits), each role set to its own level, then a
mix-bus stage brings the song to a loud master: one gain curve (loudness, then a peak
limiter) applied to every stem, so the stems still sum exactly to the mixture.

Each part is then coloured as a mixing engineer might (:func:`colour`): high- and low-pass
filters, a peaking EQ band and, for guitars, bass, organ and synth leads, a tanh drive,
drawn per part and built on scipy's filters. Not pedalboard: loading it into a process
changes fluidsynth's output in the last bits depending on the process's memory layout,
which breaks the same-seed-same-corpus rule.

Train and valid songs take their instruments from three SoundFonts in turn (FluidR3,
MuseScore General, sf_GMbank); test songs from TimGM6mb.

The test split uses other tunes, other grooves, another SoundFont and another drum kit.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
import zlib
from pathlib import Path

import numpy as np

from .errors import SaesepError

MMA_LIB = Path("/usr/share/mma/lib/stdlib")
TUNE_COLLECTION = "ryansMammoth"
KIT_FONTS = {"Black_Pearl_4_LV2.sf2": "avldrums.lv2-soundfont", "Red_Zeppelin_4_LV2.sf2": "avldrums.lv2-soundfont"}
# recorded kits by split; beside them the General MIDI kits of the split's SoundFont
RECORDED_KITS = {"train": "Black_Pearl_4_LV2.sf2", "valid": "Black_Pearl_4_LV2.sf2", "test": "Red_Zeppelin_4_LV2.sf2"}
GM_KITS = (0, 8, 16, 24, 25, 32, 40)  # Standard, Room, Power, Electronic, TR-808, Jazz, Brush
TEST_GROOVE_SHARE = 5  # one groove file in 5 (by name hash) is kept for the test split

# (GM program, lowest, highest MIDI pitch)
BAND = {
    "bass": {"electric bass (finger)": (33, 28, 55), "electric bass (pick)": (34, 28, 55), "fretless bass": (35, 28, 55),
             "acoustic bass": (32, 28, 55), "slap bass": (36, 28, 55), "synth bass": (38, 28, 55),
             "synth bass 2": (39, 28, 55)},
    "lead": {"alto sax": (65, 49, 80), "tenor sax": (66, 44, 75), "trumpet": (56, 55, 82), "flute": (73, 60, 96),
             "violin": (40, 55, 96), "clarinet": (71, 50, 89), "overdriven guitar": (29, 52, 88),
             "distortion guitar": (30, 52, 88), "square lead": (80, 55, 90), "sawtooth lead": (81, 55, 90),
             "voice oohs": (53, 48, 79), "harmonica": (22, 60, 84)},
    "other": {"acoustic piano": (0, 36, 96), "bright piano": (1, 36, 96), "electric piano": (4, 36, 96),
              "electric piano 2": (5, 36, 96), "drawbar organ": (16, 36, 96), "rock organ": (18, 36, 96),
              "nylon guitar": (24, 40, 84), "steel guitar": (25, 40, 84), "clean guitar": (27, 40, 84),
              "muted guitar": (28, 40, 84), "overdriven guitar": (29, 40, 84), "distortion guitar": (30, 40, 84),
              "string ensemble": (48, 36, 96), "synth strings": (50, 36, 96), "brass section": (61, 41, 84),
              "warm pad": (89, 36, 96), "polysynth pad": (90, 36, 96), "vibraphone": (11, 48, 89)},
}
# instruments that a player may drive into an amplifier, and how likely that is
DRIVE_CHANCE = {"bass": 0.3, "overdriven guitar": 0.6, "distortion guitar": 0.6, "clean guitar": 0.3,
                "drawbar organ": 0.3, "rock organ": 0.5, "square lead": 0.3, "sawtooth lead": 0.3,
                "electric piano": 0.2, "electric piano 2": 0.2}
# each role's level (RMS while it plays, dB, before the bus stage), drawn per song
BALANCE_DB = {"bass": (-24, -16), "drums": (-24, -15), "lead": (-24, -16), "other": (-25, -17)}


def check_tools() -> None:
    """One line naming what to install, for each tool the band style needs."""
    if shutil.which("mma") is None or not MMA_LIB.is_dir():
        raise SaesepError("the band style needs mma (Musical MIDI Accompaniment); install it with: apt-get install mma")
    for mod, pkg in (("mido", "mido"), ("scipy.ndimage", "scipy")):
        try:
            __import__(mod)
        except Exception as e:  # noqa: BLE001
            raise SaesepError(f"the band style needs {pkg}; install it with: pip install 'saesep[corpus]'") from e
    from .corpus import find_soundfont

    for font, pkg in KIT_FONTS.items():
        try:
            find_soundfont(font)
        except SaesepError:
            raise SaesepError(f"drum kit {font} not found; install it with: apt-get install {pkg}") from None


@functools.lru_cache(maxsize=1)
def grooves() -> dict[str, dict]:
    """``{file stem: {"beats": bar length in beats, "main": [grooves], "fill": {groove: fill}}}``
    for every mma groove file in 3 or 4 beats."""
    out = {}
    for f in sorted(MMA_LIB.glob("*.mma")):
        beats, names = None, []
        for line in f.read_text(errors="ignore").splitlines():
            w = line.split()
            if len(w) >= 2 and w[0] == "Time" and beats is None and w[1].isdigit():
                beats = int(w[1])
            if len(w) >= 2 and w[0] == "DefGroove":
                names.append(w[1])
        text = f.read_text(errors="ignore").lower()
        if beats not in (3, 4) or not names or "drum" not in text or not ("bass" in text or "walk" in text):
            continue  # a band needs drums and a bass line
        main = [n for n in names if not any(k in n.lower() for k in ("intro", "end", "fill", "break"))]
        fill = {m: next((n for n in names if n.lower() == (m + "fill").lower()), None) for m in main}
        if main:
            out[f.stem] = {"beats": beats, "main": main, "fill": {k: v for k, v in fill.items() if v}}
    return out


@functools.lru_cache(maxsize=1)
def split_grooves() -> dict[str, list[str]]:
    test = [g for g in grooves() if zlib.crc32(g.encode()) % TEST_GROOVE_SHARE == 0]
    rest = [g for g in grooves() if g not in test]
    return {"train": rest, "valid": rest, "test": test}


def split_tunes() -> dict[str, list[str]]:
    """Tunes by split, by name hash: 80 % train, 10 % valid, 10 % test."""
    from music21 import corpus

    tunes = sorted(str(p).split("/corpus/")[-1] for p in corpus.getWork(TUNE_COLLECTION))
    out = {"train": [], "valid": [], "test": []}
    for t in tunes:
        h = zlib.crc32(t.encode()) % 10
        out["test" if h == 0 else "valid" if h == 1 else "train"].append(t)
    return out


_MAJOR = [(0, ""), (2, "m"), (4, "m"), (5, ""), (7, ""), (9, "m")]
_MINOR = [(0, "m"), (3, ""), (5, "m"), (7, "m"), (7, ""), (8, ""), (10, "")]
_NAMES = ["C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B"]


def tune_melody(path: str) -> dict:
    """A tune's notes ``[(onset_q, dur_q, midi)]``, bar length in quarters, and key (tonic pitch class, mode)."""
    from music21 import corpus

    score = corpus.parse(path)
    notes = []
    for n in score.flatten().notes:
        if n.quarterLength > 0 and not n.isChord:
            notes.append((float(n.offset), float(n.quarterLength), int(n.pitch.midi)))
    ts = score.recurse().getElementsByClass("TimeSignature").first()
    bar_q = float(ts.barDuration.quarterLength) if ts else 4.0
    key = score.analyze("key")
    return {"notes": sorted(notes), "bar_q": bar_q, "tonic": key.tonic.pitchClass, "mode": key.mode,
            "length_q": float(score.highestTime)}


def harmonise(notes, tonic: int, mode: str, bar_q: float, n_bars: int, start_q: float, rng) -> list[str]:
    """One chord a bar (two where no triad covers most of the bar): the diatonic triad whose
    notes hold most of the bar's melody, by duration; a seventh now and then."""
    triads = _MAJOR if mode == "major" else _MINOR
    chords = []

    def best(lo, hi):
        weight = np.zeros(12)
        for on, d, m in notes:
            a, b = max(on, lo), min(on + d, hi)
            if b > a:
                weight[m % 12] += b - a
        scores = []
        for k, (deg, q) in enumerate(triads):
            root = (tonic + deg) % 12
            third = (root + (3 if q == "m" else 4)) % 12
            s = weight[root] + weight[third] + weight[(root + 7) % 12] + (0.1 if deg in (0, 5, 7) else 0)
            scores.append(s)
        k = int(np.argmax(scores))
        deg, q = triads[k]
        share = scores[k] / max(weight.sum(), 1e-9)
        name = _NAMES[(tonic + deg) % 12] + q
        if rng.random() < 0.25:
            name += "7" if q == "" and deg == 7 else ("m7" if q == "m" else "M7")
            name = name.replace("mm7", "m7")
        return name, share

    for b in range(n_bars):
        lo = start_q + b * bar_q
        name, share = best(lo, lo + bar_q)
        if share < 0.6 and bar_q >= 4:
            a, _ = best(lo, lo + bar_q / 2)
            c, _ = best(lo + bar_q / 2, lo + bar_q)
            chords.append(f"{a} {c}" if a != c else a)
        else:
            chords.append(name)
    return chords


def mma_song(groove_file: str, chords: list[str], tempo: float, seed: int, rng) -> tuple[str, list]:
    """The mma text of a song: a new main groove of the file every 4 or 8 bars, its fill before each change."""
    g = grooves()[groove_file]
    lines = [f"Tempo {tempo:.1f}", f"RndSeed {seed % 100000}"]
    sections, bar = [], 0
    while bar < len(chords):
        length = int(rng.choice([4, 8]))
        sections.append((bar, str(rng.choice(g["main"])), length))
        bar += length
    for start, name, length in sections:
        lines.append(f"Groove {name}")
        for b in range(start, min(start + length, len(chords))):
            if b == start + length - 1 and name in g["fill"] and b < len(chords) - 1:
                lines.append(f"Groove {g['fill'][name]}")
            lines.append(f"{b + 1} {chords[b]}")
    return "\n".join(lines) + "\n", [(s, n) for s, n, _ in sections]


def mma_parts(text: str) -> dict[str, list]:
    """Run mma; returns ``{track name: [(onset_s, dur_s, key, velocity), …]}`` per MIDI track."""
    import mido

    with tempfile.TemporaryDirectory(prefix="saesep-mma-") as d:
        src, mid = Path(d) / "song.mma", Path(d) / "song.mid"
        src.write_text(text)
        res = subprocess.run(["mma", "-f", str(mid), str(src)], capture_output=True, text=True, timeout=60)
        if res.returncode != 0 or not mid.exists():
            raise SaesepError(f"mma failed: {(res.stdout + res.stderr).strip().splitlines()[-1:]}")
        midi = mido.MidiFile(str(mid))
    tempo = next((m.tempo for tr in midi.tracks for m in tr if m.type == "set_tempo"), 500000)
    parts = {}
    for tr in midi.tracks:
        t, open_notes, events, program = 0, {}, [], None
        for m in tr:
            t += m.time
            if m.type == "program_change" and program is None:
                program = m.program
            if m.type == "note_on" and m.velocity > 0:
                open_notes.setdefault(m.note, []).append((t, m.velocity))
            elif m.type in ("note_off", "note_on") and open_notes.get(m.note):
                t0, vel = open_notes[m.note].pop(0)
                sec = mido.tick2second(t0, midi.ticks_per_beat, tempo)
                dur = mido.tick2second(t - t0, midi.ticks_per_beat, tempo)
                events.append((sec, max(dur, 0.02), m.note, vel))
        if events:
            parts[tr.name or f"track{len(parts)}"] = {"events": events, "program": program}
    return parts


def role_of(track: str) -> str:
    t = track.lower()
    if t.startswith("drum"):
        return "drums"
    if t.startswith(("bass", "walk")):
        return "bass"
    return "other"


def bus_gain(mix: np.ndarray, sample_rate: int, level_db: float, ceiling: float) -> tuple[np.ndarray, dict]:
    """The mix bus as one gain curve for every stem: a gain to ``level_db`` RMS, then a peak
    limiter (look-ahead minimum of the needed gain, smoothed by a moving average, which can
    only lower it: the mixture's peak stays under ``ceiling``)."""
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    rms = float(np.sqrt(np.mean(mix ** 2))) + 1e-12
    gain = 10 ** (level_db / 20) / rms
    peak = np.abs(mix).max(axis=0) * gain
    need = np.minimum(1.0, ceiling / np.maximum(peak, 1e-12))
    w = max(1, int(0.005 * sample_rate))  # 5 ms
    curve = uniform_filter1d(minimum_filter1d(need, size=2 * w + 1, mode="nearest"), size=w, mode="nearest")
    curve = np.minimum(curve, need)  # the moving average never exceeds it; this guards float rounding
    return (gain * curve).astype(np.float32), {"level_db": round(level_db, 2), "ceiling": ceiling,
                                                "max_reduction_db": round(float(-20 * np.log10(curve.min())), 2)}


def plan_info(split: str, index: int, seed: int, tunes: dict, groove_split: dict) -> dict:
    rng = np.random.default_rng(seed)
    pool = tunes[split]
    return {"style": "band", "tune": pool[int(rng.integers(len(pool)))],
            "groove_file": str(rng.choice(groove_split[split]))}


ATTEMPTS = 6


def build_band_track(plan, out: Path, sample_rate: int, render_part, find_soundfont) -> dict:
    """Arrange, render, process and write one band song; returns its record (``error`` when skipped).

    A tune whose metre no groove of the split fits, or a groove that lacks a role, or a part
    that renders silent: the song is arranged again with another groove (then tune) of the
    split, up to :data:`ATTEMPTS` times, and the record says what was retried.
    """
    from dataclasses import asdict

    rng = np.random.default_rng(plan.seed)
    rec = {**asdict(plan)}
    tunes = None
    info, retried = dict(plan.info), []
    for attempt in range(ATTEMPTS):
        try:
            tune = tune_melody(info["tune"])
        except Exception as e:  # noqa: BLE001 - a tune music21 cannot read: another tune
            why = f"{type(e).__name__}: {e}"[:120]
            tune = None
        if tune is not None:
            bar_q = 4.0 if tune["bar_q"] == 2.0 else tune["bar_q"]  # two 2/4 bars make one bar of the groove
            fits = [gf for gf in split_grooves()[plan.split] if grooves()[gf]["beats"] == bar_q]
            if bar_q in (3.0, 4.0) and len(tune["notes"]) >= 8 and fits:
                if grooves()[info["groove_file"]]["beats"] != bar_q:
                    info["groove_file"] = str(rng.choice(fits))
                res = _arrange(plan, info, tune, bar_q, rng, out, sample_rate, render_part, find_soundfont)
                if "error" not in res:
                    return {**rec, "info": info, **res, "retried": retried}
                why = res["error"]
            else:
                why = f"no groove of the split fits a {tune['bar_q']:g}-quarter bar"
        retried.append({"tune": info["tune"], "groove_file": info["groove_file"], "why": why})
        if tune is None or "bar" in why:
            tunes = tunes or split_tunes()
            info["tune"] = str(rng.choice(tunes[plan.split]))
        info["groove_file"] = str(rng.choice(split_grooves()[plan.split]))
    return {**rec, "error": f"no arrangement after {ATTEMPTS} attempts (last: {why})", "retried": retried}


def _arrange(plan, info, tune, bar_q, rng, out, sample_rate, render_part, find_soundfont) -> dict:
    from .corpus import synth_warnings, write_track

    rec: dict = {}
    g = grooves()[info["groove_file"]]
    beats = g["beats"]
    slow = any(k in info["groove_file"] for k in ("ballad", "slow", "lullaby"))
    fast = "fast" in info["groove_file"] or "bebop" in info["groove_file"]
    tempo = float(rng.uniform(*(70, 95) if slow else (150, 180) if fast else (90, 150)))
    sec_per_q = 60.0 / tempo
    n_bars = int(np.ceil(plan.seconds / (bar_q * sec_per_q))) + 1
    # the melody from a random bar, the tune repeated as often as the excerpt needs
    length_q = max(tune["length_q"], bar_q)
    start_q = float(bar_q * rng.integers(0, max(1, int(length_q // bar_q))))
    notes = [(on + k * length_q, d, m) for k in range(int(np.ceil((start_q + n_bars * bar_q) / length_q)) + 1)
             for on, d, m in tune["notes"]]
    notes = [(on - start_q, d, m) for on, d, m in notes if start_q <= on < start_q + n_bars * bar_q]
    transpose = int(rng.integers(-5, 6))
    notes = [(on, d, m + transpose) for on, d, m in notes]
    chords = harmonise(notes, (tune["tonic"] + transpose) % 12, tune["mode"], bar_q, n_bars, 0.0, rng)
    text, sections = mma_song(info["groove_file"], chords, tempo, plan.seed, rng)
    parts = mma_parts(text)
    n = int(round(plan.seconds * sample_rate))
    sf2 = find_soundfont(plan.soundfont)
    stems: dict[str, np.ndarray] = {}
    parts_info = []

    def add(role, audio, desc):
        stems[role] = stems.get(role, 0) + audio
        parts_info.append(desc)

    lead_name = str(rng.choice(sorted(BAND["lead"])))
    program, lo, hi = BAND["lead"][lead_name]
    shift = _octave(notes, lo, hi)
    events = [(on * sec_per_q, d * sec_per_q * 0.95, int(np.clip(m + shift, 0, 127)), int(rng.integers(75, 115)))
              for on, d, m in notes]
    parts.pop("Solo", None)
    parts["Melody"] = {"events": events, "program": program, "role": "lead", "name": lead_name}
    kit, dropped = None, []
    for track, p in sorted(parts.items()):
        role = p.get("role") or role_of(track)
        ccs = {74: int(rng.integers(40, 111)), 71: int(rng.integers(30, 91)), 91: int(rng.integers(0, 81)),
               93: int(rng.integers(0, 61)), 1: int(rng.integers(0, 50)) if role == "lead" else 0}
        pan = int(rng.integers(20, 108)) if role not in ("bass", "drums") else int(rng.integers(54, 75))
        gain_db = float(rng.uniform(-8, 0))
        log: list[str] = []
        if role == "drums":
            if kit is None:
                recorded = rng.random() < 0.5
                kit = ({"font": RECORDED_KITS[plan.split], "bank": 0, "preset": 0} if recorded else
                       {"font": plan.soundfont, "bank": 128, "preset": int(rng.choice(GM_KITS))})
            vel = lambda v: int(np.clip(v * rng.uniform(0.8, 1.15), 1, 127))  # noqa: E731
            ev = [(on + rng.normal(0, 0.004), d, k, vel(v)) for on, d, k, v in p["events"]]
            ev = [(max(0.0, on), d, k, v) for on, d, k, v in ev]
            audio = render_part(find_soundfont(kit["font"]), 0, ev, n, pan, drums=True, ccs=ccs,
                                bank=kit["bank"], preset=kit["preset"], log=log)
            name, program = f"kit {kit['font']} {kit['bank']}:{kit['preset']}", None
        else:
            pool = BAND[role]
            keep = p.get("name") or (None if p["program"] is None or rng.random() < 0.5 else
                                     next((k for k, v in pool.items() if v[0] == p["program"]), None))
            name = keep or str(rng.choice(sorted(pool)))
            program, lo, hi = pool[name]
            shift = _octave([(0, 0, k) for _, _, k, _ in p["events"]], lo, hi) if role != "lead" else 0
            ev = [(on, d, int(np.clip(k + shift, 0, 127)), v) for on, d, k, v in p["events"]]
            audio = render_part(sf2, program, ev, n, pan, ccs=ccs, log=log)
        if float(np.abs(audio).max()) < 1e-4:  # its notes fell outside the excerpt, or on no sample
            dropped.append(track)
            continue
        audio, fx = colour(audio, role, name if role != "drums" else "kit", rng, sample_rate)
        add(role, audio * 10 ** (gain_db / 20), {"role": role, "track": track, "instrument": name, "program": program,
                                                 "gain_db": round(gain_db, 2), "pan": pan, "ccs": ccs, "fx": fx,
                                                 "notes": len(p["events"]), **synth_warnings(log)})
    missing = [r for r in ("bass", "lead", "other", "drums") if r not in stems]
    if missing:
        return {**rec, "error": f"the groove has no sounding {', '.join(missing)} part"}
    # a mixing engineer's balance: every role at its own level around the others', whatever
    # the raw loudness of its instruments (active samples only: rests do not count)
    balance = {}
    for role, a in stems.items():
        active = np.abs(a).max(axis=0) > 1e-3
        rms = float(np.sqrt(np.mean(a[:, active] ** 2))) if active.any() else 0.0
        level = float(rng.uniform(*BALANCE_DB[role]))
        stems[role] = a * (10 ** (level / 20) / max(rms, 1e-9))
        balance[role] = round(level, 2)
    mix = sum(stems.values())
    curve, bus = bus_gain(mix, sample_rate, float(rng.uniform(-16, -9)), 0.89)
    bus["balance_db"] = balance
    # stems can peak above the mixture where they cancel: all of them come down together
    top = max(float(np.abs(a * curve).max()) for a in stems.values())
    if top > 0.99:
        curve = curve * (0.99 / top)
        bus["stem_peak_scale"] = round(0.99 / top, 4)
    ints = {r: np.round(a * curve * 32767).astype(np.int32) for r, a in stems.items()}
    total = sum(ints.values())
    if np.abs(total).max() > 32767:
        return {**rec, "error": "mixture would clip"}
    for r, a in ints.items():
        if np.abs(a).max() == 0:
            return {**rec, "error": f"the {r} stem is silent after the bus stage"}
    write_track(out / plan.split / plan.name, ints)
    return {**rec, "tempo_bpm": round(tempo, 1), "beats_per_bar": beats, "transpose": transpose,
            "start_quarter": start_q, "key": [int(tune["tonic"]), tune["mode"]], "chords": chords,
            "sections": sections, "drum_kit": kit, "bus": bus, "silent_parts_dropped": dropped, "stems": sorted(ints), "parts": parts_info}


def colour(audio: np.ndarray, role: str, instrument: str, rng, sample_rate: int) -> tuple[np.ndarray, dict]:
    """One part through a channel strip drawn at random: drive (for the instruments of
    :data:`DRIVE_CHANCE`), a high-pass, a peaking band of ±6 dB and sometimes a low-pass.
    Returns the audio (same shape, float32) and what was applied."""
    from scipy import signal

    nyq = sample_rate / 2
    fx: dict = {}
    x = audio.astype(np.float64)
    chance = DRIVE_CHANCE.get(instrument, DRIVE_CHANCE.get(role, 0.0))
    if rng.random() < chance:
        peak = float(np.abs(x).max()) or 1.0
        k = float(rng.uniform(1.5, 8.0))
        x = np.tanh(k * x / peak) * (peak / np.tanh(k))
        fx["drive"] = round(k, 2)
    lo = float(np.exp(rng.uniform(np.log(20), np.log(45 if role in ("bass", "drums") else 150))))
    x = signal.sosfilt(signal.butter(2, lo / nyq, "highpass", output="sos"), x, axis=-1)
    fx["highpass_hz"] = round(lo)
    centre = float(np.exp(rng.uniform(np.log(150), np.log(6000))))
    gain_db = float(rng.uniform(-6, 6))
    band = signal.butter(1, [centre / 1.4 / nyq, min(centre * 1.4 / nyq, 0.99)], "bandpass", output="sos")
    x = x + (10 ** (gain_db / 20) - 1) * signal.sosfilt(band, x, axis=-1)
    fx["peak"] = {"hz": round(centre), "db": round(gain_db, 1)}
    if rng.random() < 0.4:
        hi = float(np.exp(rng.uniform(np.log(2500 if role == "bass" else 4000), np.log(16000))))
        x = signal.sosfilt(signal.butter(2, hi / nyq, "lowpass", output="sos"), x, axis=-1)
        fx["lowpass_hz"] = round(hi)
    return x.astype(np.float32), fx


def _octave(notes, lo, hi) -> int:
    from .corpus import _fit_octave

    return _fit_octave(notes, lo, hi)
