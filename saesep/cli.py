"""Command line: a thin layer over the Python API (train, combine, extract, info, corpus, evaluate, models)."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from pathlib import Path

import click

from .errors import SaesepError, Stopped


def _run(fn, *args, **kwargs):
    """Call ``fn``; user errors become one line on stderr and exit status 1."""
    try:
        return fn(*args, **kwargs)
    except SaesepError as e:
        raise click.ClickException(str(e)) from None
    except KeyboardInterrupt:
        raise click.ClickException("interrupted") from None


def _progress(quiet: bool) -> bool:
    return not quiet and sys.stderr.isatty()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="saesep")
def main():
    """saesep: extract one instrument from music with a layer-wise trained DNN."""


# ---------------------------------------------------------------------------- train
def _config_options(command):
    """One option per setting of ``config.TRAIN_OPTIONS``: type and choices from the config
    field, the default shown from the default preset (None: the chosen preset's value)."""
    from .config import CHOICES, TRAIN_OPTIONS, preset

    p = preset("default")
    for name, text in reversed(TRAIN_OPTIONS.items()):
        default = getattr(p.spectral, name) if hasattr(p.spectral, name) else getattr(p.train, name)
        kind = click.Choice(CHOICES[name]) if name in CHOICES else type(default)
        command = click.option("--" + name.replace("_", "-"), name, type=kind,
                               help=f"{text} [default preset: {default}]")(command)
    return command


@main.command()
@click.option("--data", required=True, multiple=True, type=click.Path(file_okay=False),
              help="Track folder: ROOT/{train,valid}/<track>/<stem>.wav|flac. Repeat it to train on the "
                   "tracks of several folders (validation: the first folder's valid/).")
@click.option("--target", help="Stem to extract (a stem file name without extension; default bass, "
                                "or the checkpoint's with --resume).")
@click.option("--valid", multiple=True, type=click.Path(file_okay=False),
              help="Validate on these tracks (a folder with a valid/ split, or of tracks) instead of DATA/valid. "
                   "Repeat it to validate on several folders' tracks together.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Model file to write (.pt).")
@click.option("--preset", default="default", show_default=True, type=click.Choice(["default", "uhlich2015", "tiny"]))
@_config_options
@click.option("--plot", type=click.Path(dir_okay=False), help="Write the staircase plot (PNG) here.")
@click.option("--resume", is_flag=True, help="Continue an interrupted run from OUT.ckpt.")
@click.option("--device", default="cpu", show_default=True, help="auto, cpu or cuda.")
@click.option("-w", "--workers", type=click.IntRange(min=0),
              help="Processes drawing training batches (default: 0 on the CPU, one per 4 cores on a GPU). Does not change the model.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or log lines.")
def train(data, target, valid, out, preset, plot, resume, device, quiet, **opts):
    """Train a model that extracts TARGET from mixtures, layer by layer."""
    from .training import train as train_api

    log = (lambda m: None) if quiet else (lambda m: click.echo(m, err=True))
    data = list(data) if len(data) > 1 else data[0]
    valid = list(valid) or None
    model = _run(train_api, data, out, target=target, preset=preset, resume=resume, device=device, plot=plot,
                 progress=_progress(quiet), log=log, valid=valid, **opts)
    jv = model.history["stages"][-1]["J_valid"] if model.history.get("stages") else float("nan")
    if not quiet and int(os.environ.get("RANK", "0")) == 0:
        click.echo(f"wrote {out} ({len(model.net.layers)} layers, validation J {jv:.4f})")


@main.command()
@click.argument("models", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Model file to write (.pt).")
def combine(models, out):
    """Average the estimates of MODELS (one target, the same STFT and layers; e.g. trained with
    different seeds) in one model file. It separates with the first model's options."""
    from .model import combine as combine_api, save

    ens = _run(combine_api, models)
    _run(save, ens, out, protect=models)
    click.echo(f"wrote {out} ({len(models)} networks for '{ens.target}', "
               f"{ens.history['cpu_seconds']:.0f} CPU s of training in all)")


# -------------------------------------------------------------------------- extract
def _models_for(target, model_paths, rest_to, device="cpu", precision="auto", engine="auto"):
    """The models a command runs for ``target`` and the outputs it keeps (see ``saesep.models.choose``)."""
    from . import models as builtin
    from .network import load_models

    paths, outputs = builtin.choose(target, model_paths, rest_to)
    models = load_models(paths, device, precision, engine)
    if target not in (None, "all") and outputs is None:
        if target not in models:
            if len(models) == 1:
                raise SaesepError(f"model '{paths[0]}' extracts '{next(iter(models))}', not '{target}'")
            raise SaesepError(f"-t {target}: none of the models extracts it (they extract {', '.join(models)})")
        if len(models) > 1:
            outputs = (target,)
    return models, outputs


@main.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("-m", "--model", "model_paths", multiple=True, type=click.Path(dir_okay=False),
              help="Model file (repeat for several targets). Default: the built-in model for --target.")
@click.option("-t", "--target", default=None, help="Target to extract with the built-in models: bass, lead, other, drums or all.")
@click.option("-o", "--out", "out_dir", default="separated", show_default=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--filename", default="{track}/{target}.{ext}", show_default=True, help="Output path template under -o: {track}, {target}, {ext}.")
@click.option("-f", "--format", "fmt", default="wav", show_default=True, type=click.Choice(["wav", "flac", "ogg", "mp3"]))
@click.option("--bits", default="16", show_default=True, type=click.Choice(["16", "24", "float"]),
              help="Sample format of wav/flac output; integers clip beyond full scale (with a warning), "
                   "float (wav) keeps every value.")
@click.option("--residual", is_flag=True, help="Also write the mixture minus the target(s) as 'residual'.")
@click.option("--mask", default="ratio", show_default=True, type=click.Choice(["ratio", "none", "soft"]),
              help="ratio: each estimate against what it leaves of the mixture, Sᵖ/(Sᵖ + (X−S)ᵖ), + mixture "
                   "phase; none: unbounded, as in the paper; soft: Wiener-style mask over the targets (the "
                   "paper's post-filter; shared by the models with the same STFT settings).")
@click.option("--wiener", is_flag=True, help="Same as --mask soft.")
@click.option("--mask-power", default=None, type=float,
              help="Exponent p of the mask. Default: ratio, the one the model file records, else 1 "
                   "(min(S/X, 1)); soft, 2.")
@click.option("--niter", default=None, type=int,
              help="EM iterations of the multichannel Wiener filter on stereo input after the mask (as Open-Unmix's "
                   "--niter); 0: off. Default: the count the model file records, else 0 (soft: 0).")
@click.option("--shifts", default=None, type=int,
              help="Average the estimates of N STFT grids offset by hop/N (fewer artefacts, N times the cost). "
                   "Default: the count the model file records, else 1.")
@click.option("--rest-to", default="auto", show_default=True,
              help="A target that also takes a share of what all the models leave of the mixture; auto: 'other' "
                   "when bass, lead, drums and other run together (-t other runs all four built-ins and writes "
                   "other); none: off.")
@click.option("--rest-share", default=0.5, show_default=True, type=float, help="That share (0.5: the average of "
              "the target's own estimate and the mixture minus the others).")
@click.option("--segment", default=5.0, show_default=True, type=float, help="Seconds processed at once (bounds memory).")
@click.option("--device", default="cpu", show_default=True, help="auto, cpu or cuda.")
@click.option("--precision", default="auto", show_default=True, type=click.Choice(["auto", "float32", "bfloat16"]),
              help="Of the network's matrix products; auto: bfloat16 on CPUs with AMX (much faster), else float32.")
@click.option("--engine", default="auto", show_default=True, type=click.Choice(["auto", "numpy", "torch"]),
              help="Array library on the CPU; auto: numpy (starts fast, less memory), torch for bfloat16.")
@click.option("-j", "--jobs", default=1, show_default=True, type=int, help="Files processed in parallel.")
@click.option("--skip-existing", is_flag=True, help="Skip files whose outputs all exist (cheap reruns of a batch).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON line per file (input, outputs, seconds, status).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
def extract(inputs, model_paths, target, out_dir, filename, fmt, bits, residual, mask, wiener, mask_power, niter, shifts,
            rest_to, rest_share, segment, device, precision, engine, jobs, skip_existing, as_json, quiet):
    """Extract the target instrument from INPUTS (files, folders, globs; '-' reads paths from stdin).

    Outputs go to OUT/<track>/<target>.<ext> at the input's sample rate, channel
    count and length. An output never replaces an input and never lands outside OUT.
    A file that fails is reported and skipped; the exit status is 1 if any failed.
    """
    from tqdm.auto import tqdm

    from .batch import check_template, find_audio_files, plan, shown
    from .extract import Cancelled, extract_file
    from .separation import SeparationOptions
    from .backend import cpu_has_bfloat16, resolve_device

    _run(check_template, filename)
    if jobs < 1:
        raise click.BadParameter("must be at least 1", param_hint="-j")
    dev = _run(resolve_device, device)
    if dev == "cpu" and precision == "bfloat16" and not cpu_has_bfloat16():
        click.echo("warning: this CPU has no bfloat16 instructions (AVX512-BF16 or AMX): torch emulates "
                   "them, several times slower than --precision float32", err=True)
    stdin = sys.stdin if "-" in inputs else None
    files, problems = find_audio_files(inputs, stdin)
    models, outputs = _run(_models_for, target, model_paths, rest_to, dev, precision, engine)
    opts = _run(SeparationOptions, mask="soft" if wiener else mask, mask_power=mask_power, wiener_iterations=niter,
                shifts=shifts, residual=residual,
                segment_seconds=segment, precision=precision, rest_to=rest_to, rest_share=rest_share,
                outputs=outputs)
    _run(opts.rest_target, models)
    names = _run(opts.output_names, models)
    jobs_planned = plan(files, out_dir, names, fmt, filename)
    lock = threading.Lock()
    progress = _progress(quiet)
    cancel = threading.Event()
    failed = 0

    def error(path, msg):
        return {"input": shown(path), "outputs": {}, "seconds": 0.0, "status": "error", "error": msg}

    def one(job):
        if job.error:
            return error(job.input, job.error)
        if skip_existing and all(p.exists() for p in job.outputs.values()):
            return {"input": shown(job.input), "outputs": {}, "seconds": 0.0, "status": "skipped"}
        try:
            r = extract_file(job.input, models, out_dir, opts, fmt=fmt, bits=bits, outputs=job.outputs,
                             progress=progress and jobs == 1, cancel=cancel)
        except Cancelled:
            return None
        except SaesepError as e:
            return error(job.input, str(e))
        except OSError as e:
            return error(job.input, f"'{shown(job.input)}': {e.strerror or e}")
        except Exception as e:  # noqa: BLE001 - one file's bug must not stop the batch
            if os.environ.get("SAESEP_DEBUG"):
                raise
            return error(job.input, f"'{shown(job.input)}': unexpected {type(e).__name__}: {e}")
        res = {"input": shown(r.input), "outputs": {k: shown(v) for k, v in r.outputs.items()},
               "seconds": r.seconds, "audio_seconds": r.audio_seconds, "status": "ok"}
        if r.warnings:
            res["warnings"] = r.warnings
        return res

    def report(res):
        nonlocal failed
        if res is None:
            return
        with lock:
            failed += res["status"] == "error"
            if as_json:
                click.echo(json.dumps(res))
            elif res["status"] == "error":
                click.echo(f"error: {res['error']}", err=True)
            else:
                for w in res.get("warnings", []):
                    click.echo(f"warning: {w}", err=True)
                if not quiet:
                    outs = ", ".join(res["outputs"].values()) or "(outputs exist, skipped)"
                    click.echo(f"{res['input']} -> {outs}")

    for spec, msg in problems:  # every input named gets its line
        report(error(spec, msg))
    with tqdm(total=len(jobs_planned), disable=not progress or len(jobs_planned) < 2, unit="file",
              desc="files") as bar:
        if jobs > 1:
            from concurrent.futures import ThreadPoolExecutor, as_completed

            from .workers import threads_shared

            with threads_shared(jobs):
                ex = ThreadPoolExecutor(jobs)
                try:
                    for fut in as_completed([ex.submit(one, j) for j in jobs_planned]):
                        report(fut.result())
                        bar.update(1)
                except BaseException:  # a stop: abandon the files in flight, report those that finished
                    cancel.set()
                    raise
                finally:
                    ex.shutdown(wait=True, cancel_futures=True)
        else:
            for j in jobs_planned:
                report(one(j))
                bar.update(1)
    if failed:
        raise click.ClickException(f"{failed} of {len(jobs_planned) + len(problems)} input(s) failed")


# ----------------------------------------------------------------------------- info
@main.command()
@click.argument("model_path", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print everything, history included, as JSON.")
def info(model_path, as_json):
    """Show a model file's target, STFT settings, layers, training history and versions."""
    from .network import load_numpy
    from .weights import read_meta

    _run(load_numpy, model_path)  # the whole file checked: weights, config, target
    meta = _run(read_meta, model_path)
    if as_json:
        click.echo(json.dumps(meta, indent=2))
        return
    try:
        _print_info(meta)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise click.ClickException(f"'{model_path}' has damaged metadata ({type(e).__name__}: {e})") from None


def _print_info(meta: dict) -> None:
    sp, tr, h = meta["spectral"], meta["train"], meta.get("history", {})
    click.echo(f"target       {meta['target']}")
    band = f" (up to {sp['max_freq']:g} Hz)" if sp.get("max_freq") else ""
    hidden = meta.get("hidden_units") or meta["n_bins"]
    units = f"{meta['n_layers']} x {meta['n_bins']} units" if hidden == meta["n_bins"] else \
        f"{meta['n_layers']} ({hidden} units, the output {meta['n_bins']})"
    click.echo(f"layers       {units}, input {meta['context_frames']} frames x {meta['n_bins']} bins{band}")
    click.echo(f"stft         {sp['sample_rate']} Hz, n_fft {sp['n_fft']}, hop {sp['hop']}, {sp['window']} window, "
               f"context C={sp['context']} stride {sp['context_stride']}, stereo {sp['stereo']}")
    members = h.get("members") or [{"train": tr, "history": h}]
    if len(members) > 1:
        click.echo(f"networks     {len(members)}, their estimates averaged")
    for mem in members:
        tr, h = mem["train"], mem["history"]
        threads = f", {h['threads']} threads" if "threads" in h else ""
        schedule = f", {tr['lr_schedule']} learning rate" if tr.get("lr_schedule", "constant") != "constant" else ""
        click.echo(f"training     {tr['optimizer']}, init {tr['init']}, sampling {tr['sampling']}, seed {tr['seed']}"
                   f"{threads}{schedule}")
        for ev in h.get("layers_added", []):
            click.echo(f"  + layer {ev['layer']} at it {ev['iteration']}: J_valid {ev['J_valid_before']:.4f} -> {ev['J_valid_after']:.4f}")
        for st in h.get("stages", []):
            click.echo(f"  {st['name']:<10} {st['iterations']:>6} it {st['seconds']:>8.1f} s  J_valid {st['J_valid']:.4f}")
        for d in h.get("lr_drops", []):
            click.echo(f"  ! collapse in {d['stage']} at it {d['iteration']}: best weights restored, learning rate {d['lr']:g}")
    m = meta.get("meta", {})
    for k in ("data", "preset", "command"):
        if k in m:
            click.echo(f"{k:<12} {m[k]}")
    if "mask_power" in m:
        click.echo(f"mask         ratio, exponent {m['mask_power']}")
    if m.get("wiener_iterations"):
        click.echo(f"post-filter  stereo Wiener filter, {m['wiener_iterations']} EM iteration(s)")
    if m.get("shifts", 1) != 1:  # as recorded, a bad count too (extract then names it)
        click.echo(f"shifts       estimates of {m['shifts']} STFT grids averaged")
    if m.get("output_gain") is not None:  # as recorded, a bad one too (extract then names it)
        g = m["output_gain"]
        try:
            text = f"least-squares gain per bin, {min(g):.2f} to {max(g):.2f}, after the mask and filter"
        except (TypeError, ValueError):
            text = repr(g)[:60]
        click.echo(f"output gain  {text}")
    click.echo("versions     " + ", ".join(f"{k} {v}" for k, v in m.get("versions", {}).items()))



# --------------------------------------------------------------------------- corpus
@main.group()
def corpus():
    """Build or describe a multitrack corpus (scores rendered with sampled instruments)."""


@corpus.command("build")
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--size", default="tiny", show_default=True, type=click.Choice(["tiny", "small", "medium"]),
              help="tiny: 13 tracks x 8 s; small: 80 x 15 s; medium: 600 x 20 s.")
@click.option("--style", default="classical", show_default=True, type=click.Choice(["classical", "band"]),
              help="classical: scores of the music21 corpus; band: folk tunes arranged by mma in band grooves "
                   "(medium: 1020 x 20 s, 5 h of training audio).")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("-j", "--jobs", default=None, type=int, help="Worker processes (default: all cores).")
@click.option("--split", "splits", multiple=True, type=click.Choice(["train", "valid", "test"]),
              help="Build only this split (repeatable; default: all).")
@click.option("--soundfont", "fonts", multiple=True, metavar="SPLIT=FILE",
              help="Render SPLIT with another SoundFont (e.g. test=FluidR3_GM.sf2: the test tracks "
                   "with the training instruments). Repeatable.")
@click.option("-q", "--quiet", is_flag=True)
def corpus_build(out, size, style, seed, jobs, splits, fonts, quiet):
    """Render OUT/{train,valid,test}/<track>/{mixture,bass,lead,other,drums}.flac and OUT/corpus.json."""
    from .corpus import build

    soundfonts = {}
    for f in fonts:
        split, eq, name = f.partition("=")
        if not eq or not name:
            raise click.BadParameter(f"'{f}' is not SPLIT=FILE", param_hint="--soundfont")
        soundfonts[split] = name
    meta = _run(build, out, size=size, seed=seed, jobs=jobs, progress=not quiet, soundfonts=soundfonts,
                splits=splits or None, style=style)
    if not quiet:
        click.echo(f"wrote {out}: {meta['splits']} tracks in {meta['build_seconds']} s"
                   + (f" ({meta['failed']} pieces skipped, see corpus.json)" if meta["failed"] else ""))


@corpus.command("info")
@click.argument("root", type=click.Path(file_okay=False))
def corpus_info_cmd(root):
    """Tracks, hours and stems per split of a track folder."""
    from .corpus import corpus_info

    res = _run(corpus_info, root)
    for split, r in res.items():
        stems = ", ".join(f"{k} {v}" for k, v in sorted(r["stems"].items()))
        click.echo(f"{split:<6} {r['tracks']:>5} tracks {r['hours']:>7.3f} h   stems: {stems}")



# ------------------------------------------------------------------------- evaluate
@main.command()
@click.option("--data", required=True, type=click.Path(file_okay=False), help="Track folder (MUSDB layout).")
@click.option("--split", default="test", show_default=True)
@click.option("-m", "--model", "model_paths", multiple=True, type=click.Path(dir_okay=False),
              help="Model file (repeat to run several together and score the target's output). "
                   "Default: the built-in model for --target (for other: all four, as saesep extract -t other).")
@click.option("-t", "--target", default=None, help="Target stem (default: the first model's; bass without -m).")
@click.option("--rest-to", default="auto", show_default=True, help="As for saesep extract.")
@click.option("--method", "methods", default="saesep", show_default=True,
              help="Comma-separated: saesep, irm1, irm2, ibm, oracle-mag, mixture, nmf.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Write the full results as JSON here.")
@click.option("-j", "--jobs", default=None, type=int, help="Tracks evaluated in parallel (default: all cores).")
@click.option("--tracks", "max_tracks", default=None, type=int, help="Only the first N tracks that have the target.")
@click.option("--metric", default="bss", show_default=True, type=click.Choice(["bss", "sdr"]),
              help="bss: museval BSS Eval v4 (SDR, SIR, SAR, ISR); sdr: the Music Demixing Challenge's "
                   "whole-track SDR (no SIR/SAR/ISR), hundreds of times faster.")
@click.option("--mask-power", default=None, type=float,
              help="Exponent of saesep's ratio mask, as for saesep extract (default: the model file's, else 1).")
@click.option("--niter", default=None, type=int,
              help="EM iterations of saesep's stereo Wiener filter, as for saesep extract (default: the model "
                   "file's, else 0).")
@click.option("--shifts", default=None, type=int,
              help="STFT grids averaged, as for saesep extract (default: the model file's, else 1).")
@click.option("--no-per-track", is_flag=True, help="Print only the medians.")
@click.option("-q", "--quiet", is_flag=True)
def evaluate(data, split, model_paths, target, rest_to, methods, json_path, jobs, max_tracks, metric, mask_power,
             niter, shifts, no_per_track, quiet):
    """Score extraction with museval BSS Eval v4 (1 s windows; median over windows, then tracks) and SI-SDR,
    or with the Music Demixing Challenge's SDR (--metric sdr)."""
    from . import models as builtin
    from .evaluation import evaluate as eval_api, format_table

    ms = [m.strip() for m in methods.split(",") if m.strip()]
    model_paths = list(model_paths)
    if not model_paths and (target is None or "saesep" in ms):
        target = target or builtin.DEFAULT_TARGET
        model_paths, _ = _run(builtin.choose, target, (), rest_to)
    res = _run(eval_api, data, split, model=model_paths or None, target=target, methods=ms, jobs=jobs,
               progress=_progress(quiet), max_tracks=max_tracks, rest_to=rest_to, metric=metric, mask_power=mask_power,
               wiener_iterations=niter, shifts=shifts)
    click.echo(format_table(res, per_track=not no_per_track))
    if json_path:
        from .files import atomic_output

        with atomic_output(json_path) as tmp:
            Path(tmp).write_text(json.dumps(res, indent=1))
    if res["counts"]["failed"]:
        bad = [r for r in res["tracks"] if "error" in r]
        for r in bad:
            click.echo(f"error: {r['error']}", err=True)
        raise click.ClickException(f"{len(bad)} track(s) could not be scored")



# --------------------------------------------------------------------- models, demo
@main.command("models")
def models_cmd():
    """List the built-in models: target, size, training data and test-split SDR."""
    from . import models as builtin
    from .weights import read_meta

    avail = builtin.available()
    if not avail:
        raise click.ClickException("no built-in models are installed")
    for target, path in avail.items():
        meta = _run(read_meta, path)
        m = meta.get("meta", {})
        sdr = m.get("test_sdr", {})
        hours = m.get("hours_train", m.get("corpus", {}).get("hours_train", "?"))
        # test SDR per test corpus (band, classical); older files hold the classical one only
        tests = {k: v for k, v in sdr.items() if isinstance(v, dict)} or {"classical (museval)": sdr}
        scores = ", ".join(f"{k} {v.get('saesep', float('nan')):.2f} dB (passthrough {v.get('mixture', float('nan')):.2f})"
                           for k, v in tests.items())
        layers = f"{meta['networks']} × {meta['n_layers']}" if meta.get("networks", 1) > 1 else f"{meta['n_layers']}"
        click.echo(f"{target:<6} {path.stat().st_size / 1e6:5.1f} MB  {layers} layers  "
                   f"{hours} h of training audio  test SDR: {scores}")


@main.command()
@click.option("-o", "--out", "out_dir", default="out", show_default=True, type=click.Path(file_okay=False))
@click.option("--song", default=None, type=click.Path(file_okay=False), help="Folder with mixture + stems (default: the bundled demo).")
def demo(out_dir, song):
    """Extract every built-in role from the bundled demo song and print each one's SDR."""
    from .demo import run_demo

    _run(run_demo, out_dir, song, echo=click.echo)


def run(argv=None) -> None:
    """The ``saesep`` command. SIGINT and SIGTERM unwind the command (temporary files are
    removed, worker processes stopped), then it exits with 128 + the signal's number."""
    from .stops import on_stop_signal

    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, on_stop_signal)
    try:
        main.main(args=argv, prog_name="saesep")
    except Stopped as e:
        click.echo(f"saesep: stopped by {signal.Signals(e.signum).name}", err=True)
        sys.exit(128 + e.signum)


if __name__ == "__main__":
    run()
