"""Section 1, Lab conversion: `colornb.lab.rgb_to_lab` on a uint8 batch against scikit-image's `rgb2lab` per image.

Target: ≥ 5× scikit-image's images/s. Also reported: eager PyTorch (`fuse=False`) and the conversion from float32.
"""
import time
import numpy as np
import torch
from harness import RunOptions, best_time, row, sample_photos

TITLE = '1. Lab conversion'

def _uint8_photos(n:int, size:int)->list:
    "`n` of the shipped photos as (size,size,3) uint8 arrays, repeating them if there are fewer."
    from PIL import Image
    photos = sample_photos()
    return [np.asarray(Image.open(photos[i % len(photos)]).convert('RGB').resize((size, size))) for i in range(n)]

def bench_lab(n:int=64, # photos in the batch
              size:int=256, # their side
              repeats:int=3 # timed repeats
             )->list: # table rows
    "Images/s of scikit-image per image and of colornb on one batch: fused, eager and from float."
    from skimage.color import rgb2lab
    from colornb.lab import rgb_to_lab
    imgs = _uint8_photos(n, size)
    batch = torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2) # uint8, as colornb's data pipeline hands it over
    t = time.perf_counter(); rgb_to_lab(batch); t_first = time.perf_counter() - t # compiles the fused loop (once)
    def per_image():
        for im in imgs: rgb2lab(im)
    t_sk = best_time(per_image, repeats)
    t_fused = best_time(lambda: rgb_to_lab(batch), repeats)
    t_eager = best_time(lambda: rgb_to_lab(batch, fuse=False), repeats)
    t_float = best_time(lambda: rgb_to_lab(batch.float() / 255), repeats)
    ref = np.stack([rgb2lab(i) for i in imgs[:4]])
    err = lambda lab: np.abs(lab[:4].permute(0, 2, 3, 1).numpy() - ref).max()
    return [row(f'skimage rgb2lab, per image ({size} px)', n / t_sk, 'img/s'),
            row(f'colornb rgb_to_lab, one uint8 batch of {n} ({size} px)', n / t_fused, 'img/s', baseline=n / t_sk,
                ratio=t_sk / t_fused, target=5,
                note=f'the fused (torch.compile) loop the data pipeline uses on the CPU; max |ΔLab| against '
                     f'scikit-image {err(rgb_to_lab(batch)):.2g}; first call {t_first:.1f} s '
                     f'(compiling; cached on disk for later processes)'),
            row('  the same, eager PyTorch (fuse=False)', n / t_eager, 'img/s', baseline=n / t_sk, ratio=t_sk / t_eager,
                note=f'what runs where torch.compile cannot; max |ΔLab| {err(rgb_to_lab(batch, fuse=False)):.2g}'),
            row('  the same, from float32 in [0,1] (fused)', n / t_float, 'img/s', baseline=n / t_sk,
                ratio=t_sk / t_float, note='uint8→float conversion included')]

def measure(opts:RunOptions)->list:
    "Section 1 at the sizes of the command line."
    q = opts.quick
    return bench_lab(n=8 if q else 64, size=64 if q else 256, repeats=1 if q else 3)
