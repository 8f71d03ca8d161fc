"""Section 6, ONNX: the generator exported by `colornb.deploy.export_onnx`, run by onnxruntime, against PyTorch (CPU).

First the export itself, each in a fresh process: `export_onnx` with its defaults (any height and width), with a fixed
size, and the recipe before issue 31 (the generator's layers as they are, in-place activations and timm's `Conv2dSame`
included, through one `torch.onnx.export(..., optimize=True)`), whose symbolic shapes cost minutes on an EfficientNet.
Time per 256 px image, of the generator alone (batch 1) and of the whole `colorize` (resizing, Lab, the full-resolution
merge), with the same number of threads for both libraries (2, the development machine's cores): PyTorch fp32 against
onnxruntime fp32 and int8 (`onnxruntime.quantization.quantize_dynamic`: uint8 activations; uint8 weights, and int8
weights, its default, which ran 5× slower here), and the colour difference each makes against PyTorch (ΔE76; the
targets: mean ≤ 1 for fp32, ≤ 2 for int8 to be worth having). Then the command users run, `colornb colorize` on one
photo, as a fresh process per backend: its wall time from start to exit and its peak RSS, next to a process that imports
only onnxruntime, numpy and PIL and runs the model once (the floor that a colorize path without torch could reach).
"""
import json, os, subprocess, sys, time
from pathlib import Path
from harness import ROOT, RunOptions, best_time, isolated, log, row, sample_photos

TITLE = '6. ONNX (onnxruntime)'
THREADS = 2 # torch and onnxruntime threads: the development machine's cores

def available()->bool:
    "Whether onnx, onnxruntime and onnxscript are installed (the `onnx` extra)."
    import importlib.util
    return all(importlib.util.find_spec(m) for m in ('onnx', 'onnxruntime', 'onnxscript'))

QUANTIZED = dict(int8='QUInt8', int8s='QInt8') # dynamic: uint8 activations; uint8 or int8 (the default) weights

def export_models(out:str, # folder for generator.pt and the .onnx files
                  checkpoint:str=None, # a generator .pt; None: resnet18 with random weights (seed 0)
                  size:int=256 # the random generator's size
                 )->dict: # the files, by 'torch', 'fp32' and the keys of `QUANTIZED`
    "The generator as a .pt, exported to ONNX for any height and width (the default), and that model quantized."
    import logging, torch
    from onnxruntime.quantization import quantize_dynamic, QuantType
    from colornb.generator import build_generator
    from colornb.checkpoint import save_generator
    from colornb.deploy import export_onnx
    logging.getLogger().setLevel(logging.ERROR) # the quantizer's advice to pre-process (its shape inference fails here)
    out = Path(out)
    if checkpoint is None:
        torch.manual_seed(0)
        checkpoint = save_generator(build_generator('resnet18', size=size, pretrained=False), out/'generator.pt')
    files = dict(torch=str(checkpoint), fp32=str(export_onnx(checkpoint, out/'generator.onnx')))
    for name, weights in QUANTIZED.items():
        files[name] = str(out/f'generator-{name}.onnx')
        quantize_dynamic(files['fp32'], files[name], weight_type=getattr(QuantType, weights))
    return files

EXPORTS = ('dynamic', 'fixed', 'before') # `export_onnx`'s default, `size=256`, the recipe before issue 31

def _export_before(checkpoint:str, out:str):
    "The export as colornb did it before issue 31: the layers as they are, one `torch.onnx.export` call, optimized."
    import contextlib, io, warnings, onnx, torch
    from fastai.layers import SequentialEx, ToTensorBase
    from colornb.checkpoint import load_generator
    from colornb.deploy import export_shapes
    G = load_generator(checkpoint)
    x, shapes = export_shapes()
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter('ignore')
        layers = SequentialEx(*[l for l in G.layers if not isinstance(l, ToTensorBase)]).eval()
        model = torch.onnx.export(layers, (x,), dynamo=True, opset_version=18, input_names=['L'], output_names=['ab'],
                                  dynamic_shapes=shapes, optimize=True, verbose=False).model_proto
    onnx.checker.check_model(model, full_check=True)
    Path(out).write_bytes(model.SerializeToString())

def export_time(checkpoint:str, # a generator .pt
                out:str, # the .onnx file to write
                how:str='dynamic', # one of `EXPORTS`
                size:int=256 # the side of the 'fixed' export
               )->dict:
    "Seconds of one export, from the checkpoint to the written .onnx (imports not included), and its CPU seconds."
    import torch
    from colornb.deploy import export_onnx
    torch.set_num_threads(THREADS)
    export = dict(dynamic=lambda: export_onnx(checkpoint, out), fixed=lambda: export_onnx(checkpoint, out, size=size),
                  before=lambda: _export_before(checkpoint, out))[how]
    t, cpu = time.perf_counter(), time.process_time()
    export()
    return dict(s=time.perf_counter() - t, cpu_s=time.process_time() - cpu)

def export_times(checkpoint:str, tmp:Path, hows:tuple=EXPORTS, size:int=256)->dict:
    "`export_time` of each of `hows`, each in a fresh process (each pays torch's and onnxscript's first-call costs)."
    return {how: isolated(export_time, checkpoint=checkpoint, out=str(tmp/f'export-{how}.onnx'), how=how, size=size)
            for how in hows}

def _export_rows(e:dict, size:int)->list:
    "Table rows of `export_times`: each export's seconds, against the recipe before issue 31 when it was measured."
    before = e.get('before', {}).get('s')
    what = dict(dynamic='any height and width (the default)', fixed=f'fixed {size}×{size} (`--size {size}`)')
    vs = lambda how: dict(baseline=before, ratio=before / e[how]['s']) if before and how == 'dynamic' else {}
    rows = [row(f'`export_onnx`, {what[how]}', e[how]['s'], 's', note=f"{e[how]['cpu_s']:.0f} CPU s", **vs(how))
            for how in ('dynamic', 'fixed') if how in e] # the ratio: the same export, any height and width, before
    if before: rows.append(row('export before issue 31, any height and width', before, 's',
                               note=f"{e['before']['cpu_s']:.0f} CPU s"))
    return rows

def _generators(files:dict)->dict:
    "The PyTorch generator and the onnxruntime ones, by the keys of `files`, each on `THREADS` CPU threads."
    import torch
    from colornb.checkpoint import load_generator
    from colornb.deploy import OnnxGenerator
    torch.set_num_threads(THREADS)
    ort = lambda f: OnnxGenerator(f, providers=['CPUExecutionProvider'], threads=THREADS)
    return {k: load_generator(f) if k == 'torch' else ort(f) for k, f in files.items()}

def _differences(gens:dict, imgs:list, size:int)->dict:
    "ΔE76 mean, p99 and max of each onnxruntime generator's `colorize` against PyTorch's, over `imgs`."
    import torch
    from colornb.predict import colorize
    from colornb.deploy import delta_e76
    ref, res = [colorize(im, gens['torch'], size=size) for im in imgs], {}
    for name in set(gens) - {'torch'}:
        dE = torch.cat([delta_e76(colorize(im, gens[name], size=size), r).flatten() for im, r in zip(imgs, ref)])
        res.update({f'{name}_dE_mean': dE.mean().item(), f'{name}_dE_p99': dE.quantile(.99).item(),
                    f'{name}_dE_max': dE.max().item()})
    return res

def onnx_vs_torch(files:dict, # from `export_models`
                  n:int=8, # sample photos, resized to `size`×`size`
                  size:int=256, # photo and render size
                  repeats:int=3)->dict:
    """ms per image of the generator alone (all backends) and of `colorize` (all but int8 weights, 5× slower here);
    ΔE76 of the onnxruntime outputs against PyTorch's."""
    import torch
    from PIL import Image
    from colornb.images import open_image
    from colornb.predict import colorize, predict_ab, _small_L
    gens = _generators(files)
    imgs = [open_image(p).resize((size, size), Image.BICUBIC) for p in sample_photos()[:n]]
    L, res = _small_L(imgs[0], size), {}
    for name, G in gens.items():
        with torch.inference_mode(): res[f'{name}_G'] = best_time(lambda: predict_ab(G, L), repeats) * 1000
        if name == 'int8s': continue
        res[name] = best_time(lambda: [colorize(im, G, size=size) for im in imgs], repeats) / n * 1000
    res['mb'] = {k: os.path.getsize(f) / 1e6 for k, f in files.items()}
    return {**res, **_differences(gens, imgs, size)}

FLOOR = """import sys, numpy as np, onnxruntime as ort
from PIL import Image
photo, model, side = sys.argv[1:4]
L = np.asarray(Image.open(photo).convert('L').resize((int(side), int(side))), np.float32)[None, None] / 127.5 - 1
opts = ort.SessionOptions(); opts.intra_op_num_threads = 2
ab = ort.InferenceSession(model, opts, providers=['CPUExecutionProvider']).run(None, {'L': L})[0]
assert 'torch' not in sys.modules
""" # the network's part of colorizing one photo, without torch: a grayscale resize stands in for the Lab conversion

LAUNCHER = """import json, os, sys, time
t = time.perf_counter(); pid = os.fork()
if pid == 0:
    fd = os.open(os.devnull, os.O_WRONLY); os.dup2(fd, 1); os.execvp(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(json.dumps(dict(s=time.perf_counter() - t, peak_rss_mb=usage.ru_maxrss / 1024, status=status)))
"""

def process_cost(cmd:list # a command line
                )->dict: # wall seconds from start to exit, and the process's peak RSS in MB
    """Run `cmd` to its end, forked from a small launcher process: Linux counts a parent's peak RSS into a child's
    `ru_maxrss` across fork and exec, so a child of this (large) process would report at least this process's peak."""
    path = [str(ROOT)] + [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path), OMP_NUM_THREADS=str(THREADS))
    p = subprocess.run([sys.executable, '-c', LAUNCHER, *map(str, cmd)], capture_output=True, text=True, env=env)
    r = json.loads(p.stdout.strip().splitlines()[-1]) if p.stdout.strip() else dict(status=-1)
    if r.pop('status'): raise RuntimeError(f"{' '.join(map(str, cmd))} failed:\n{p.stderr[-2000:]}")
    return r

def colorize_processes(files:dict, tmp:Path, size:int=256, repeats:int=2)->dict:
    "`colornb colorize` of one sample photo with each backend, and the torch-free floor: best wall time, its peak RSS."
    photo, res = sample_photos()[0], {}
    cmds = dict(torch=['--checkpoint', files['torch']], onnx=['--backend', 'onnx', '--checkpoint', files['fp32']])
    for name, args in cmds.items():
        cmd = [sys.executable, '-m', 'colornb', 'colorize', photo, '--out', tmp/name, '--size', size, *args]
        runs = [process_cost(cmd) for _ in range(repeats)]
        res[name] = min(runs, key=lambda r: r['s'])
    runs = [process_cost([sys.executable, '-c', FLOOR, photo, files['fp32'], size]) for _ in range(repeats)]
    res['floor'] = min(runs, key=lambda r: r['s'])
    return res

def _speed_rows(r:dict, size:int, n:int)->list:
    "Table rows of `onnx_vs_torch`: time per image and ratio against PyTorch, then the colour differences."
    mb, s8 = r['mb'], f"int8 weights (QInt8, quantize_dynamic's default): {r['int8s_G']:.4g} ms"
    rows = []
    for what, key in (('generator alone, batch 1', '_G'), (f'colorize a {size} px image', '')):
        base = r[f'torch{key}']
        rows.append(row(f'{what}, PyTorch fp32', base, 'ms/img',
                        note=f'{THREADS} threads; generator.pt {mb["torch"]:.0f} MB'))
        for q, label in (('fp32', 'fp32'), ('int8', 'int8 dynamic (uint8 weights)')):
            note = f'the .onnx file {mb[q]:.0f} MB' + (f'; {s8}' if q == 'int8' and key else '')
            t = r[f'{q}{key}']
            rows.append(row(f'{what}, onnxruntime {label}', t, 'ms/img', baseline=base, ratio=base / t, note=note))
    for q, target in (('fp32', 1.0), ('int8', 2.0)):
        note = f"p99 {r[f'{q}_dE_p99']:.3g}, max {r[f'{q}_dE_max']:.3g}"
        if q == 'int8': note += f"; int8 weights: mean {r['int8s_dE_mean']:.3g}, p99 {r['int8s_dE_p99']:.3g}"
        rows.append(row(f'onnxruntime {q} vs PyTorch: ΔE76 mean ({n} photos)', r[f'{q}_dE_mean'], '', target=target,
                        higher_is_better=False, note=note))
    return rows

def _process_rows(p:dict)->list:
    "Table rows of `colorize_processes`: the whole command, start to exit, and its peak RSS."
    base = p['torch']
    rows = [row('`colornb colorize` one photo, torch backend (process start to exit)', base['s'], 's',
                note=f"peak RSS {base['peak_rss_mb']:.0f} MB")]
    for name, what in (('onnx', '`colornb colorize --backend onnx`'),
                       ('floor', 'onnxruntime + numpy + PIL only, one run (no torch: the floor)')):
        rows.append(row(what, p[name]['s'], 's', baseline=base['s'], ratio=base['s'] / p[name]['s'],
                        note=f"peak RSS {p[name]['peak_rss_mb']:.0f} MB (torch backend: {base['peak_rss_mb']:.0f} MB)"))
    return rows

def bench_onnx(tmp:Path, size:int=256, n:int=8, checkpoint:str=None, repeats:int=3,
               exports:tuple=EXPORTS # the exports to time (`export_times`); () for none
              )->list:
    "Table rows of section 6."
    tmp = Path(tmp); tmp.mkdir(parents=True, exist_ok=True)
    log('  onnx: export and int8 quantization ...')
    files = isolated(export_models, out=str(tmp), checkpoint=checkpoint, size=size)
    files.pop('peak_rss_mb')
    rows = []
    if exports:
        log(f"  onnx: export times ({', '.join(exports)}) ...")
        rows = _export_rows(export_times(files['torch'], tmp, exports, size), size)
    log('  onnx: time per image ...'); r = isolated(onnx_vs_torch, files=files, n=n, size=size, repeats=repeats)
    log('  onnx: colornb colorize processes ...'); p = colorize_processes(files, tmp, size=size, repeats=min(repeats, 2))
    return rows + _speed_rows(r, size, n) + _process_rows(p)

def measure(opts:RunOptions)->list:
    "Section 6 at the sizes of the command line, with its --checkpoint."
    q = opts.quick
    return bench_onnx(opts.tmp/'onnx', size=64 if q else 256, n=2 if q else 8, checkpoint=opts.checkpoint,
                      repeats=1 if q else 3, exports=() if q else EXPORTS) # --quick: its test's time is short
