"""Section 4, inference: `colorize` on a 256 px image, and from a 12-megapixel JPEG's path to the colorized image.

fp32 and bf16 autocast, against `colorize` as it was before the fast merge (`colorize_previous`); the colour difference
bf16 makes. Targets for the 12 MP photo: ≤ 1.0 s and ≤ 1.5 GB peak RSS (2 cores, resnet18, size 256). Then folders
(16 photos at 512 px, 4 of 12 MP) colorized into PNGs by `colorize_files`: its worker threads against `workers=0`, one
photo after another. Each measurement runs in a fresh process (`isolated`), so that its peak RSS is its own.
"""
import io, shutil, tempfile, time
from pathlib import Path
import numpy as np
import torch
from harness import RunOptions, best_time, isolated, log, peak_rss_mb, photo_folder, row, sample_photos

TITLE = '4. Inference'
BIG_PHOTO = 'palapeli_european-honey-bee.jpg' # the shipped photo that is resized to the large test photo

def colorize_previous(path, G, size:int=256):
    "colornb's colorize before the fast merge: ab upsampled to full size in float32, Lab of each band by colornb.lab."
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
            band = L_ab_to_rgb(rgb_to_L_ab(x)[0], ab[..., y:y + 512, :])
            out[y:y + 512] = (band * 255).round().byte()[0].permute(1, 2, 0).numpy()
        return Image.fromarray(out)

def _generator(checkpoint:str=None, size:int=256):
    "The generator in `checkpoint`, or a resnet18 one with random weights (seed 0)."
    from colornb.generator import build_generator
    from colornb.checkpoint import load_generator
    torch.manual_seed(0)
    return load_generator(checkpoint) if checkpoint else build_generator('resnet18', size=size, pretrained=False)

def infer_photo(photo:str, # path of the photo
                how:str, # 'previous', 'fp32' or 'bf16'
                checkpoint:str=None, size:int=256,
                repeats:int=2 # timed calls after the first
               )->dict: # first_s, best_s, png_s, rss_before_mb, size
    "Time and memory to colorize `photo` from its path to the image in memory (run it through `isolated`)."
    from colornb.predict import colorize
    G = _generator(checkpoint).eval()
    rss_ready = peak_rss_mb()
    if how == 'previous': run = lambda: colorize_previous(photo, G, size)
    else: run = lambda: colorize(photo, G, size=size, precision=how)
    t = time.perf_counter(); out = run(); first = time.perf_counter() - t
    best = min([first] + [best_time(run, 1, warmup=0) for _ in range(repeats)])
    t = time.perf_counter(); out.save(io.BytesIO(), format='PNG'); png = time.perf_counter() - t
    return dict(first_s=first, best_s=best, png_s=png, rss_before_mb=rss_ready, size=out.size)

def _bf16_differences(G, imgs:list, size:int)->dict:
    "How far bf16 autocast moves the colours: |Δab| of the generator's output, ΔE76 of the colorized images."
    from colornb.predict import colorize, predict_ab, _small_L
    from colornb.lab import rgb_to_lab
    with torch.inference_mode():
        L = torch.cat([_small_L(im, size) for im in imgs])
        d_ab = (predict_ab(G, L, 'bf16') - predict_ab(G, L, 'fp32')).abs() * 110 # in CIE ab units
    lab = lambda im: rgb_to_lab(torch.from_numpy(np.array(im)).permute(2, 0, 1).float() / 255)
    dE = torch.cat([(lab(colorize(im, G, size=size, precision='bf16')) - lab(colorize(im, G, size=size))).norm(dim=0).flatten()
                    for im in imgs])
    return dict(ab_mean=d_ab.mean().item(), ab_max=d_ab.max().item(), dE_mean=dE.mean().item(),
                dE_p99=dE.quantile(0.99).item(), dE_max=dE.max().item())

def infer_small(n:int=8, size:int=256, checkpoint:str=None, repeats:int=3)->dict:
    "ms per image at `size` px (colorize from an in-memory photo), fp32 and bf16, and the colour difference bf16 makes."
    from PIL import Image
    from colornb.images import open_image
    from colornb.predict import colorize, predict_ab, _small_L
    G = _generator(checkpoint).eval()
    imgs = [open_image(p).resize((size, size), Image.BICUBIC) for p in sample_photos()[:n]]
    res = {}
    for how in ('fp32', 'bf16'):
        bf16 = how == 'bf16'
        res[how] = best_time(lambda: [colorize(im, G, size=size, precision='bf16' if bf16 else 'fp32') for im in imgs], repeats) / len(imgs) * 1000
        with torch.inference_mode(): # the generator alone, one batch
            L = torch.cat([_small_L(im, size) for im in imgs])
            res[how + '_G_batch'] = best_time(lambda: predict_ab(G, L, 'bf16' if bf16 else 'fp32'), repeats) / len(imgs) * 1000
    return {**res, **_bf16_differences(G, imgs, size)}

def _large_photo(dst:Path, side:tuple)->Path:
    "A JPEG of `side` (width, height) pixels, resized from one shipped photo, at `dst`."
    from PIL import Image
    from colornb.images import SAMPLES_PATH
    Image.open(SAMPLES_PATH/BIG_PHOTO).convert('RGB').resize(side, Image.BICUBIC).save(dst, quality=90)
    return dst

def _small_rows(sm:dict, size:int, n_small:int, G_note:str)->list:
    "Table rows of `infer_small`'s figures."
    return [row(f'colorize a {size} px image, fp32', sm['fp32'], 'ms/img',
                note=f"generator alone, batch of {n_small}: {sm['fp32_G_batch']:.3g} ms/img; {G_note}"),
            row(f'colorize a {size} px image, bf16', sm['bf16'], 'ms/img', baseline=sm['fp32'],
                ratio=sm['fp32'] / sm['bf16'],
                note=f"generator alone: {sm['bf16_G_batch']:.3g} ms/img; bf16 vs fp32: |Δab| mean {sm['ab_mean']:.2f} "
                     f"max {sm['ab_max']:.2f}, ΔE76 mean {sm['dE_mean']:.2f} p99 {sm['dE_p99']:.2f} "
                     f"max {sm['dE_max']:.2f}")]

def _photo_rows(r:dict, mp:str)->list:
    "Table rows of `infer_photo`'s figures for 'previous', 'fp32' and 'bf16' (`r` by `how`) on an `mp` MP photo."
    prev = r['previous']
    rows = [row(f'{mp} MP JPEG → colorized image, previous colorize', prev['best_s'], 's',
                note=f"first call {prev['first_s']:.3g} s; peak RSS {prev['peak_rss_mb']:.0f} MB")]
    for how in ('fp32', 'bf16'):
        x = r[how]
        rows += [row(f'{mp} MP JPEG → colorized image, {how}', x['best_s'], 's', baseline=prev['best_s'],
                     ratio=prev['best_s'] / x['best_s'],
                     note=f"first call {x['first_s']:.3g} s; writing the PNG {x['png_s']:.3g} s more; "
                          f"RSS {x['rss_before_mb']:.0f} MB before colorizing (imports and generator)"),
                 row(f'{mp} MP, {how}: time', x['best_s'], 's', target=1.0, higher_is_better=False),
                 row(f'{mp} MP, {how}: peak RSS of the process', x['peak_rss_mb'] / 1024, 'GB',
                     baseline=prev['peak_rss_mb'] / 1024, target=1.5, higher_is_better=False)]
    return rows

def infer_folder(folder:str, # the photos
                 workers:int=None, # `colorize_files`'s threads; None: its default
                 checkpoint:str=None, size:int=256,
                 repeats:int=1 # timed runs after the first
                )->dict: # first_s, best_s, photos, workers
    "Time to colorize a folder into PNGs with `colorize_files`, fp32 on the CPU (run it through `isolated`)."
    from colornb.predict import colorize_files, default_workers
    G = _generator(checkpoint).eval()
    out = Path(tempfile.mkdtemp())
    try:
        run = lambda: colorize_files([folder], G, out, size=size, progress=False, precision='fp32', device='cpu',
                                     workers=workers)
        t = time.perf_counter(); written, _ = run(); first = time.perf_counter() - t
        best = min([first] + [best_time(run, 1, warmup=0) for _ in range(repeats)])
    finally: shutil.rmtree(out)
    return dict(first_s=first, best_s=best, photos=len(written),
                workers=default_workers() if workers is None else workers)

def _folder_rows(r:dict, what:str)->list:
    "Table rows of `infer_folder`'s figures (`r` by workers: 0 first, None its default) for the folder `what`."
    seq, rate = r[0], lambda x: x['photos'] / x['best_s']
    note = lambda x: f"first run {x['first_s']:.3g} s; peak RSS {x['peak_rss_mb']:.0f} MB"
    rows = [row(f'{what} → PNGs, one photo after another (workers=0)', rate(seq), 'photos/s', note=note(seq))]
    for w, x in r.items():
        if w == 0: continue
        how = f"default threads (workers={x['workers']})" if w is None else f'{w} threads'
        rows.append(row(f'{what} → PNGs, {how}', rate(x), 'photos/s', baseline=rate(seq), ratio=rate(x) / rate(seq),
                        note=note(x)))
    return rows

def bench_folders(folders:list, # (name, n photos, side: None for 12 MP) of each folder
                  size:int=256, checkpoint:str=None, repeats:int=1, big_side:tuple=(4000, 3000),
                  four:bool=True # also 4 threads (when that is not the default)
                 )->list:
    "Table rows: `colorize_files` on each folder with workers=0, its default threads, and 4 threads."
    from colornb.predict import default_workers
    rows, workers = [], [0, None] + ([4] if four and default_workers() != 4 else [])
    with tempfile.TemporaryDirectory() as d:
        for what, n, side in folders:
            folder = Path(d)/what.replace(' ', '_')
            if side: photo_folder(folder, n, side)
            else:
                folder.mkdir()
                for i in range(n): _large_photo(folder/f'{i}.jpg', big_side)
            r = {}
            for w in workers:
                log(f'  infer: {what}, workers={w} ...')
                r[w] = isolated(infer_folder, folder=str(folder), workers=w, checkpoint=checkpoint, size=size,
                                repeats=repeats)
            rows += _folder_rows(r, what)
            shutil.rmtree(folder)
    return rows

def bench_infer(photo_side:tuple=(4000, 3000), # (width, height) of the large photo
                size:int=256, # render size
                n_small:int=8, # photos of the small-image figures
                checkpoint:str=None, # a generator .pt; None: random weights
                repeats:int=2)->list:
    "Table rows of section 4: small images in fp32 and bf16, then the large photo: previous, fp32, bf16."
    mp = photo_side[0] * photo_side[1] / 1e6
    mp = f'{mp:.0f}' if mp >= 1 else f'{mp:.2f}'
    with tempfile.TemporaryDirectory() as d:
        photo = _large_photo(Path(d)/'photo.jpg', photo_side)
        log('  infer: small images ...'); sm = isolated(infer_small, n=n_small, size=size, checkpoint=checkpoint)
        r = {}
        for how in ('previous', 'fp32', 'bf16'):
            log(f'  infer: {mp} MP photo, {how} ...')
            r[how] = isolated(infer_photo, photo=str(photo), how=how, checkpoint=checkpoint, size=size, repeats=repeats)
    G_note = checkpoint or 'resnet18 generator with random weights (pretrained=False, seed 0)'
    return _small_rows(sm, size, n_small, G_note) + _photo_rows(r, mp)

def measure(opts:RunOptions)->list:
    "Section 4 at the sizes of the command line, with its --checkpoint."
    q = opts.quick
    rows = bench_infer(photo_side=(400, 300) if q else (4000, 3000), size=64 if q else 256, n_small=2 if q else 8,
                       checkpoint=opts.checkpoint, repeats=1 if q else 2)
    folders = [('folder of 4 photos at 64 px', 4, 64)] if q else \
              [('folder of 16 photos at 512 px', 16, 512), ('folder of 4 photos of 12 MP', 4, None)]
    return rows + bench_folders(folders, size=64 if q else 256, checkpoint=opts.checkpoint, repeats=1,
                                big_side=(4000, 3000), four=not q) # quick: one folder, two settings
