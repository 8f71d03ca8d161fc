"""colornb benchmarks: one command, ratios against baselines run in the same process.

    PYTHONPATH=. python benchmarks/run.py                 # sections 1-4 on the CPU (and 5 when CUDA is there)
    PYTHONPATH=. python benchmarks/run.py --quick         # tiny sizes: a smoke test of the script itself
    PYTHONPATH=. python benchmarks/run.py --gpu-only      # sections 3 and 5 on CUDA
    PYTHONPATH=. python benchmarks/run.py --only lab,infer --out /tmp/results

Each section prints a table: the absolute figures, the ratio against its baseline, the target and PASS/FAIL.
Everything is also written as JSON to `<out>/<host>-<date>.json` with a description of the machine.
Timings are the best of the timed repeats (the least disturbed by other work on a shared machine).
Peak CPU memory is the peak RSS of a fresh subprocess per measurement; on a GPU, `torch.cuda.max_memory_allocated`.
"""
import argparse, datetime, io, json, os, platform, resource, shutil, socket, subprocess, sys, tempfile, time
from pathlib import Path
import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path: sys.path.insert(0, str(ROOT))
SECTIONS = ('lab', 'data', 'train', 'infer', 'gpu')

# ---------------------------------------------------------------- helpers

def log(*a): print(*a, file=sys.stderr, flush=True)

def best_time(f, repeats:int, warmup:int=1)->float:
    "Best wall time of `repeats` calls of `f`, after `warmup` calls."
    for _ in range(warmup): f()
    ts = []
    for _ in range(repeats):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    return min(ts)

def peak_rss_mb()->float: return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

def machine()->dict:
    "What the numbers were measured on."
    cpu = platform.processor() or platform.machine()
    try: cpu = next(l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name'))
    except Exception: pass
    try: flags = next(l for l in open('/proc/cpuinfo') if l.startswith('flags')).split()
    except Exception: flags = []
    m = dict(host=socket.gethostname(), date=datetime.datetime.now().isoformat(timespec='seconds'), cpu=cpu,
             cores=len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count(),
             avx512_bf16='avx512_bf16' in flags, amx='amx_bf16' in flags, torch_threads=torch.get_num_threads(),
             python=platform.python_version(), torch=torch.__version__, gpu=None)
    try: import fastai; m['fastai'] = fastai.__version__
    except ImportError: m['fastai'] = None
    try: m['mem_gb'] = round(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30, 1)
    except (ValueError, OSError): pass
    if torch.cuda.is_available(): m['gpu'] = torch.cuda.get_device_name(0)
    return m

def row(name, value, unit, baseline=None, ratio=None, target=None, higher_is_better=True, note=''):
    "One line of a section's table; `target` applies to `ratio` when given, else to `value`."
    r = dict(name=name, value=value, unit=unit, baseline=baseline, ratio=ratio, target=target, note=note)
    if target is not None:
        x = ratio if ratio is not None else value
        r['pass'] = bool(x >= target if higher_is_better else x <= target)
        r['target'] = f"{'≥' if higher_is_better else '≤'} {target:g}"
    return r

def print_table(title:str, rows:list):
    print(f'\n## {title}\n')
    head = ['measurement', 'value', 'baseline', 'ratio', 'target', 'result']
    fmt = lambda v: '' if v is None else f'{v:.4g}' if isinstance(v, float) else str(v)
    lines = [[r['name'], f"{fmt(r['value'])} {r['unit']}", fmt(r['baseline']), fmt(r['ratio']), r['target'] or '',
              ('PASS' if r['pass'] else 'FAIL') if 'pass' in r else ''] for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *lines)]
    for l in [head, ['-' * w for w in widths]] + lines: print('| ' + ' | '.join(str(x).ljust(w) for x, w in zip(l, widths)) + ' |')
    for r in rows:
        if r.get('note'): print(f"- {r['name']}: {r['note']}")
    sys.stdout.flush()

IN_PROCESS = False # --quick measures in this process: faster, and its memory figures mean nothing

def isolated(func:str, **kwargs)->dict:
    "Run `func(**kwargs)` of this file in a fresh Python process and return its dict (with the child's peak RSS)."
    if IN_PROCESS: return {**globals()[func](**kwargs), 'peak_rss_mb': peak_rss_mb()}
    code = f"import sys, json; sys.path[:0] = [{str(ROOT)!r}, {str(ROOT / 'benchmarks')!r}]; import run; " \
           f"r = run.{func}(**json.loads(sys.argv[1])); r['peak_rss_mb'] = run.peak_rss_mb(); print('@@' + json.dumps(r))"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT)] + [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p]))
    p = subprocess.run([sys.executable, '-c', code, json.dumps(kwargs)], capture_output=True, text=True, env=env)
    out = [l for l in p.stdout.splitlines() if l.startswith('@@')]
    if p.returncode or not out: raise RuntimeError(f"benchmark subprocess {func} failed:\n{p.stderr[-3000:]}")
    return json.loads(out[-1][2:])

def sample_photos()->list:
    from colornb.images import SAMPLES_PATH
    return sorted(SAMPLES_PATH.glob('*.jpg'))

def photo_folder(dst:Path, n:int, side:int=None)->Path:
    "`n` copies of the shipped sample photos in `dst`, at their own size or resized to `side`×`side`."
    from PIL import Image
    dst.mkdir(parents=True, exist_ok=True)
    photos = sample_photos()
    for i in range(n):
        src, f = photos[i % len(photos)], dst / f'{i:04d}.jpg'
        if side: Image.open(src).convert('RGB').resize((side, side), Image.BICUBIC).save(f, quality=90)
        else: shutil.copy(src, f)
    return dst

# ---------------------------------------------------------------- 1. Lab conversion

def bench_lab(n:int=64, size:int=256, repeats:int=3)->list:
    from PIL import Image
    from skimage.color import rgb2lab
    from colornb.lab import rgb_to_lab
    photos = sample_photos()
    imgs = [np.asarray(Image.open(photos[i % len(photos)]).convert('RGB').resize((size, size))) for i in range(n)]
    batch = torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2) # uint8, as colornb's data pipeline hands it over
    t = time.perf_counter(); rgb_to_lab(batch); t_first = time.perf_counter() - t # compiles the fused loop (once per process)
    def per_image():
        for im in imgs: rgb2lab(im)
    t_sk = best_time(per_image, repeats)
    t_fused, t_eager = best_time(lambda: rgb_to_lab(batch), repeats), best_time(lambda: rgb_to_lab(batch, fuse=False), repeats)
    t_float = best_time(lambda: rgb_to_lab(batch.float() / 255), repeats)
    ref = np.stack([rgb2lab(i) for i in imgs[:4]])
    err = lambda lab: np.abs(lab[:4].permute(0, 2, 3, 1).numpy() - ref).max()
    return [row(f'skimage rgb2lab, per image ({size} px)', n / t_sk, 'img/s'),
            row(f'colornb rgb_to_lab, one uint8 batch of {n} ({size} px)', n / t_fused, 'img/s', baseline=n / t_sk, ratio=t_sk / t_fused, target=5,
                note=f'the fused (torch.compile) loop the data pipeline uses on the CPU; max |ΔLab| against scikit-image {err(rgb_to_lab(batch)):.2g}; '
                     f'first call {t_first:.1f} s (compiling; cached on disk for later processes)'),
            row('  the same, eager PyTorch (fuse=False)', n / t_eager, 'img/s', baseline=n / t_sk, ratio=t_sk / t_eager,
                note=f'what runs where torch.compile cannot; max |ΔLab| {err(rgb_to_lab(batch, fuse=False)):.2g}'),
            row('  the same, from float32 in [0,1] (fused)', n / t_float, 'img/s', baseline=n / t_sk, ratio=t_sk / t_float, note='uint8→float conversion included')]

# ---------------------------------------------------------------- 2. Data loading

class SkimageDataset(torch.utils.data.Dataset):
    "The common tutorial approach: open, resize and convert each photo with scikit-image inside `__getitem__`."
    def __init__(self, files, size): self.files, self.size = files, size
    def __len__(self): return len(self.files)
    def __getitem__(self, i):
        from skimage import io as skio, transform, color
        im = skio.imread(self.files[i])[..., :3]
        im = transform.resize(im, (self.size, self.size), anti_aliasing=True)
        if np.random.rand() < 0.5: im = im[:, ::-1]
        lab = color.rgb2lab(im).astype(np.float32)
        lab = torch.from_numpy(lab).permute(2, 0, 1)
        return lab[:1] / 50. - 1., lab[1:] / 110.

def bench_data(n:int=128, size:int=256, bs:int=16, num_workers:int=2, repeats:int=2)->list:
    from colornb.data import colorization_dls
    with tempfile.TemporaryDirectory() as d:
        files = sorted(photo_folder(Path(d) / 'photos', n).glob('*.jpg'))
        dls = colorization_dls(files, size=size, bs=bs, valid_pct=0.01, num_workers=num_workers, check_photos=False)
        plain = torch.utils.data.DataLoader(SkimageDataset(dls.train.items, size), batch_size=bs, shuffle=True, drop_last=True,
                                            num_workers=num_workers, persistent_workers=False)
        def epoch(dl):
            k = 0
            for L, ab in dl: k += len(L)
            return k
        n_items = epoch(dls.train)
        t_fa = best_time(lambda: epoch(dls.train), repeats, warmup=0)
        t_pl = best_time(lambda: epoch(plain), repeats, warmup=0)
    note = f'{n_items} photos per epoch ({size} px crops of the shipped samples, 300-768 px), batch {bs}, {num_workers} workers, worker start-up included'
    return [row('torch Dataset + scikit-image in __getitem__', n_items / t_pl, 'img/s'),
            row('colornb colorization_dls', n_items / t_fa, 'img/s', baseline=n_items / t_pl, ratio=t_pl / t_fa, target=2, note=note)]

# ---------------------------------------------------------------- 3. Training steps

def _dev(device:str): return torch.device(device if device != 'auto' else 'cuda' if torch.cuda.is_available() else 'cpu')

def _sync(dev):
    if dev.type == 'cuda': torch.cuda.synchronize()

def _train_dls(data:str, size:int, bs:int, n_batches:int, dev):
    from colornb.data import colorization_dls
    files = sorted(Path(data).glob('*.jpg'))[:bs * n_batches + 1]
    assert len(files) == bs * n_batches + 1, f'{data} needs {bs * n_batches + 1} photos'
    return colorization_dls(files, size=size, bs=bs, valid_pct=1.5 / len(files), num_workers=0, check_photos=False, device=dev)

def train_fastai(stage:str, data:str, size:int=256, bs:int=16, warmup:int=1, steps:int=3, device:str='auto',
                 precision:str='fp32', channels_last:bool=False)->dict:
    "Per-batch times of colornb's Learner (all its callbacks, progress bar and recorder included; validation skipped)."
    from fastai.callback.core import Callback, CancelValidException
    from fastai.torch_core import set_seed
    from colornb.generator import build_generator
    from colornb.pretrain import pretrain_learner
    from colornb.gan import gan_learner
    from colornb.discriminator import PatchDiscriminator
    from colornb.training import set_precision
    dev = _dev(device)
    set_seed(0)
    dls = _train_dls(data, size, bs, warmup + steps, dev)
    torch.manual_seed(0)
    G = build_generator('resnet18', size=size, pretrained=False)
    times = []
    class BatchStart(Callback):
        order = -1000
        def before_batch(self): _sync(dev); self.t = time.perf_counter()
        def before_validate(self): raise CancelValidException()
    class BatchStop(Callback):
        order = 1000
        def after_batch(self):
            if self.training: _sync(dev); times.append(time.perf_counter() - self.learn.batch_start.t)
    if stage == 'pretrain': learn = pretrain_learner(dls, G=G)
    else: learn = gan_learner(dls, generator=G, D=PatchDiscriminator())
    learn.add_cbs([BatchStart(), BatchStop()])
    set_precision(learn, precision, channels_last)
    if dev.type == 'cuda': torch.cuda.reset_peak_memory_stats()
    learn.fit(1, lr=learn.lr)
    return dict(times=times[warmup:], gpu_peak_mb=torch.cuda.max_memory_allocated() / 2**20 if dev.type == 'cuda' else None)

def train_plain(stage:str, data:str, size:int=256, bs:int=16, warmup:int=1, steps:int=3, device:str='auto')->dict:
    "Per-step times of a plain PyTorch loop doing the same math: same model, losses, optimizer hyperparameters and batch."
    import torch.nn.functional as F
    from fastai.torch_core import set_seed
    from colornb.generator import build_generator
    from colornb.discriminator import PatchDiscriminator
    from colornb.pretrain import PRETRAIN_LR
    from colornb.gan import gan_loss, GAN_LR, LAMBDA_L1
    dev = _dev(device)
    set_seed(0)
    L, ab = _train_dls(data, size, bs, warmup + steps, dev).one_batch()
    L, ab = L.as_subclass(torch.Tensor), ab.as_subclass(torch.Tensor)
    torch.manual_seed(0)
    G = build_generator('resnet18', size=size, pretrained=False).to(dev).train()
    if stage == 'pretrain':
        opt = torch.optim.Adam(G.parameters(), lr=PRETRAIN_LR, betas=(0.9, 0.999), eps=1e-8, weight_decay=0)
        def step():
            loss = F.l1_loss(G(L), ab)
            opt.zero_grad(); loss.backward(); opt.step()
            return loss.item()
    else:
        D = PatchDiscriminator().to(dev).train()
        opt_G = torch.optim.Adam(G.parameters(), lr=GAN_LR, betas=(0.5, 0.999), eps=1e-8, weight_decay=0)
        opt_D = torch.optim.Adam(D.parameters(), lr=GAN_LR, betas=(0.5, 0.999), eps=1e-8, weight_decay=0)
        def step():
            pred = G(L)
            D.requires_grad_(True)
            loss_D = (gan_loss(D(torch.cat([L, ab], 1)), True) + gan_loss(D(torch.cat([L, pred.detach()], 1)), False)) / 2
            opt_D.zero_grad(); loss_D.backward(); opt_D.step()
            D.requires_grad_(False)
            loss_G = gan_loss(D(torch.cat([L, pred], 1)), True) + LAMBDA_L1 * F.l1_loss(pred, ab)
            opt_G.zero_grad(); loss_G.backward(); opt_G.step()
            return loss_D.item(), loss_G.item()
    if dev.type == 'cuda': torch.cuda.reset_peak_memory_stats()
    times = []
    for i in range(warmup + steps):
        _sync(dev); t = time.perf_counter(); step(); _sync(dev); times.append(time.perf_counter() - t)
    return dict(times=times[warmup:], gpu_peak_mb=torch.cuda.max_memory_allocated() / 2**20 if dev.type == 'cuda' else None)

def bench_train(data:str, size:int=256, bs:int=16, warmup:int=1, steps:int=3, device:str='cpu')->list:
    rows = []
    for stage, what in [('pretrain', 'L1 pretraining step'), ('gan', 'GAN step (D and G updates)')]:
        kw = dict(stage=stage, data=data, size=size, bs=bs, warmup=warmup, steps=steps, device=device)
        log(f'  train {stage}: fastai ...'); fa = isolated('train_fastai', **kw)
        log(f'  train {stage}: plain loop ...'); pl = isolated('train_plain', **kw)
        t_fa, t_pl = min(fa['times']), min(pl['times'])
        mem = lambda r: f"peak {'GPU ' + format(r['gpu_peak_mb'], '.0f') if r['gpu_peak_mb'] else 'RSS ' + format(r['peak_rss_mb'], '.0f')} MB"
        rows += [row(f'{what}, plain PyTorch loop', bs / t_pl, 'img/s', note=f"{t_pl:.3g} s/step, {mem(pl)}; steps {[round(t, 3) for t in pl['times']]}"),
                 row(f'{what}, colornb fastai Learner: time / plain', t_fa / t_pl, '×', baseline=t_pl, ratio=t_fa / t_pl, target=1.05,
                     higher_is_better=False, note=f"{bs / t_fa:.3g} img/s, {t_fa:.3g} s/step, {mem(fa)}; steps {[round(t, 3) for t in fa['times']]}")]
    return rows

# ---------------------------------------------------------------- 4. Inference

def colorize_previous(path, G, size:int=256):
    "colornb's colorize before the fast merge: full-size ab upsampled in float32, Lab of every band through colornb.lab."
    import torch.nn.functional as F
    from PIL import Image
    from colornb.images import open_image
    from colornb.predict import _small_L
    from colornb.lab import rgb_to_L_ab, L_ab_to_rgb
    with torch.inference_mode():
        img = open_image(path)
        ab = G.eval()(_small_L(img, size))
        rgb = np.array(img)
        H, W = rgb.shape[:2]
        ab = F.interpolate(ab.float(), size=(H, W), mode='bilinear', align_corners=False)
        out = np.empty_like(rgb)
        for y in range(0, H, 512):
            x = torch.from_numpy(rgb[y:y + 512]).permute(2, 0, 1)[None].float() / 255
            out[y:y + 512] = (L_ab_to_rgb(rgb_to_L_ab(x)[0], ab[..., y:y + 512, :]) * 255).round().byte()[0].permute(1, 2, 0).numpy()
        return Image.fromarray(out)

def _generator(checkpoint:str=None, size:int=256):
    from colornb.generator import build_generator
    from colornb.checkpoint import load_generator
    torch.manual_seed(0)
    return load_generator(checkpoint) if checkpoint else build_generator('resnet18', size=size, pretrained=False)

def infer_photo(photo:str, how:str, checkpoint:str=None, size:int=256, repeats:int=2)->dict:
    "Time and memory to colorize `photo` from its path to the image in memory, in a fresh process: 'previous', 'fp32' or 'bf16'."
    from colornb.predict import colorize
    G = _generator(checkpoint).eval()
    rss_ready = peak_rss_mb()
    run = (lambda: colorize_previous(photo, G, size)) if how == 'previous' else (lambda: colorize(photo, G, size=size, bf16=how == 'bf16'))
    t = time.perf_counter(); out = run(); first = time.perf_counter() - t
    best = min([first] + [best_time(run, 1, warmup=0) for _ in range(repeats)])
    t = time.perf_counter(); buf = io.BytesIO(); out.save(buf, format='PNG'); png = time.perf_counter() - t
    return dict(first_s=first, best_s=best, png_s=png, rss_before_mb=rss_ready, size=out.size)

def infer_small(n:int=8, size:int=256, checkpoint:str=None, repeats:int=3)->dict:
    "ms per image at `size` px (colorize from an in-memory photo), fp32 and bf16, and the colour difference bf16 makes."
    from PIL import Image
    from colornb.predict import colorize, predict_ab, _small_L
    from colornb.images import open_image
    from colornb.lab import rgb_to_lab
    G = _generator(checkpoint).eval()
    imgs = [open_image(p).resize((size, size), Image.BICUBIC) for p in sample_photos()[:n]]
    res = {}
    for how in ('fp32', 'bf16'):
        res[how] = best_time(lambda: [colorize(im, G, size=size, bf16=how == 'bf16') for im in imgs], repeats) / len(imgs) * 1000
        with torch.inference_mode(): # the generator alone, one batch
            L = torch.cat([_small_L(im, size) for im in imgs])
            res[how + '_G_batch'] = best_time(lambda: predict_ab(G, L, how == 'bf16'), repeats) / len(imgs) * 1000
    with torch.inference_mode():
        L = torch.cat([_small_L(im, size) for im in imgs])
        d_ab = (predict_ab(G, L, True) - predict_ab(G, L, False)).abs() * 110 # in CIE ab units
    t = lambda im: torch.from_numpy(np.array(im)).permute(2, 0, 1).float() / 255
    dE = torch.cat([(rgb_to_lab(t(colorize(im, G, size=size, bf16=True))) - rgb_to_lab(t(colorize(im, G, size=size)))).norm(dim=0).flatten() for im in imgs])
    res.update(ab_mean=d_ab.mean().item(), ab_max=d_ab.max().item(), dE_mean=dE.mean().item(), dE_p99=dE.quantile(0.99).item(), dE_max=dE.max().item())
    return res

def bench_infer(photo_side:tuple=(4000, 3000), size:int=256, n_small:int=8, checkpoint:str=None, repeats:int=2)->list:
    from PIL import Image
    from colornb.images import SAMPLES_PATH
    with tempfile.TemporaryDirectory() as d:
        photo = Path(d) / 'photo.jpg'
        Image.open(SAMPLES_PATH / 'palapeli_european-honey-bee.jpg').convert('RGB').resize(photo_side, Image.BICUBIC).save(photo, quality=90)
        mp = photo_side[0] * photo_side[1] / 1e6
        mp = f'{mp:.0f}' if mp >= 1 else f'{mp:.2f}'
        log('  infer: small images ...'); sm = isolated('infer_small', n=n_small, size=size, checkpoint=checkpoint)
        r = {}
        for how in ('previous', 'fp32', 'bf16'):
            log(f'  infer: {mp} MP photo, {how} ...'); r[how] = isolated('infer_photo', photo=str(photo), how=how, checkpoint=checkpoint, size=size, repeats=repeats)
    G_note = checkpoint or 'resnet18 generator with random weights (pretrained=False, seed 0)'
    rows = [row(f'colorize a {size} px image, fp32', sm['fp32'], 'ms/img', note=f"generator alone, batch of {n_small}: {sm['fp32_G_batch']:.3g} ms/img; {G_note}"),
            row(f'colorize a {size} px image, bf16', sm['bf16'], 'ms/img', baseline=sm['fp32'], ratio=sm['fp32'] / sm['bf16'],
                note=f"generator alone: {sm['bf16_G_batch']:.3g} ms/img; bf16 vs fp32: |Δab| mean {sm['ab_mean']:.2f} max {sm['ab_max']:.2f}, "
                     f"ΔE76 mean {sm['dE_mean']:.2f} p99 {sm['dE_p99']:.2f} max {sm['dE_max']:.2f}"),
            row(f'{mp} MP JPEG → colorized image, previous colorize', r['previous']['best_s'], 's',
                note=f"first call {r['previous']['first_s']:.3g} s; peak RSS {r['previous']['peak_rss_mb']:.0f} MB")]
    for how in ('fp32', 'bf16'):
        x = r[how]
        rows += [row(f'{mp} MP JPEG → colorized image, {how}', x['best_s'], 's', baseline=r['previous']['best_s'], ratio=r['previous']['best_s'] / x['best_s'],
                     note=f"first call {x['first_s']:.3g} s; writing the PNG {x['png_s']:.3g} s more; RSS {x['rss_before_mb']:.0f} MB before colorizing (imports and generator)"),
                 row(f'{mp} MP, {how}: time', x['best_s'], 's', target=1.0, higher_is_better=False),
                 row(f'{mp} MP, {how}: peak RSS of the process', x['peak_rss_mb'] / 1024, 'GB', baseline=r['previous']['peak_rss_mb'] / 1024, target=1.5, higher_is_better=False)]
    return rows

# ---------------------------------------------------------------- 5. GPU training with mixed precision and channels-last

def gpu_configs(quick:bool)->list:
    return [(p, cl) for p in ('fp32', 'bf16', 'fp16') for cl in (False, True)] if not quick else [('fp32', False), ('bf16', True)]

def bench_gpu(data:str, size:int=256, batch_sizes=(16, 64), warmup:int=3, steps:int=10, quick:bool=False)->list:
    rows = []
    for stage in ('pretrain', 'gan'):
        for bs in batch_sizes:
            base = None
            for precision, cl in gpu_configs(quick):
                r = train_fastai(stage, data, size=size, bs=bs, warmup=warmup, steps=steps, device='cuda', precision=precision, channels_last=cl)
                t = min(r['times'])
                base = base or t
                rows.append(row(f"{stage} bs {bs}, {precision}{' channels-last' if cl else ''}", bs / t, 'img/s', baseline=bs / base, ratio=base / t,
                                note=f"peak GPU memory {r['gpu_peak_mb']:.0f} MB"))
                log(f"  gpu {rows[-1]['name']}: {rows[-1]['value']:.1f} img/s")
    return rows

# ---------------------------------------------------------------- main

def main(argv=None):
    ap = argparse.ArgumentParser(description='colornb benchmarks')
    ap.add_argument('--quick', action='store_true', help='tiny sizes: a smoke test of the script, not a measurement')
    ap.add_argument('--only', default=None, help=f"comma-separated sections: {','.join(SECTIONS)}")
    ap.add_argument('--gpu-only', action='store_true', help='sections 3 and 5 on CUDA only')
    ap.add_argument('--out', default=str(ROOT / 'benchmarks' / 'results'), help='folder for the JSON results')
    ap.add_argument('--steps', type=int, default=3, help='timed training steps per measurement on the CPU (after 1 warm-up step)')
    ap.add_argument('--checkpoint', default=None, help='a generator .pt for section 4 (default: random weights)')
    args = ap.parse_args(argv)
    cuda = torch.cuda.is_available()
    sections = args.only.split(',') if args.only else ['train', 'gpu'] if args.gpu_only else list(SECTIONS)
    if bad := set(sections) - set(SECTIONS): ap.error(f"unknown sections {', '.join(sorted(bad))}: choose from {', '.join(SECTIONS)}")
    if 'gpu' in sections and not cuda:
        if args.gpu_only or args.only: ap.error('section gpu needs CUDA, and torch.cuda.is_available() is False')
        sections.remove('gpu')
    q = args.quick
    global IN_PROCESS; IN_PROCESS = q
    m = machine()
    print('# colornb benchmarks' + (' (--quick: sizes too small to mean anything)' if q else ''))
    print(f"\n{m['date']} · {m['host']} · {m['cpu']} · {m['cores']} cores · {m['torch_threads']} torch threads · "
          f"AVX-512 BF16 {'yes' if m['avx512_bf16'] else 'no'} · Python {m['python']} · torch {m['torch']} · fastai {m['fastai']}"
          + (f" · GPU {m['gpu']}" if m['gpu'] else ''))
    results, t0 = dict(machine=m, quick=q, sections={}), time.perf_counter()
    titles = dict(lab='1. Lab conversion', data='2. Data loading', train='3. Training steps', infer='4. Inference', gpu='5. GPU training')
    with tempfile.TemporaryDirectory() as tmp:
        train_dev = 'cuda' if args.gpu_only and cuda else 'cpu'
        for s in sections:
            log(f'{titles[s]} ...'); ts = time.perf_counter()
            if s == 'lab': rows = bench_lab(n=8 if q else 64, size=64 if q else 256, repeats=1 if q else 3)
            elif s == 'data': rows = bench_data(n=24 if q else 128, size=64 if q else 256, bs=4 if q else 16, num_workers=0 if q else 2, repeats=1 if q else 2)
            elif s == 'train':
                gpu_run = train_dev == 'cuda'
                warmup, steps, bs, size = (1, 1, 2, 64) if q else (3, 10, 16, 256) if gpu_run else (1, args.steps, 16, 256)
                data = photo_folder(Path(tmp) / 'train', bs * (warmup + steps) + 1, side=size + 32)
                rows = bench_train(str(data), size=size, bs=bs, warmup=warmup, steps=steps, device=train_dev)
            elif s == 'infer': rows = bench_infer(photo_side=(400, 300) if q else (4000, 3000), size=64 if q else 256, n_small=2 if q else 8,
                                                  checkpoint=args.checkpoint, repeats=1 if q else 2)
            elif s == 'gpu':
                data = photo_folder(Path(tmp) / 'gpu', 64 * 13 + 1, side=288) if not q else photo_folder(Path(tmp) / 'gpu', 4 * 3 + 1, side=96)
                rows = bench_gpu(str(data), size=64 if q else 256, batch_sizes=(4,) if q else (16, 64), warmup=1 if q else 3, steps=2 if q else 10, quick=q)
            print_table(titles[s] + (f' ({train_dev})' if s == 'train' else ''), rows)
            results['sections'][s] = dict(title=titles[s], seconds=time.perf_counter() - ts, rows=rows)
    results['seconds'] = time.perf_counter() - t0
    out = Path(args.out); out.mkdir(parents=True, exist_ok=True)
    fn = out / f"{m['host']}-{m['date'].replace(':', '')}.json"
    fn.write_text(json.dumps(results, indent=1, ensure_ascii=False))
    print(f"\nTotal {results['seconds']:.0f} s. Results written to {fn}")
    return fn

if __name__ == '__main__': main()
