"""The training photos of the model shipped in colornb/models: `../shared/photos` outside its fixed, seeded 10 % held-out
split (`split_holdout`, the split `colornb evaluate --holdout 0.1` measures on), less the photos there that are colornb's
own samples (the demo and the README show them, so the shipped model must not have learnt them), as a folder of links,
then `colornb prepare`'s file of them.

    python tools/shipped_model_data.py ../shared/photos runs/train_photos       # links; the samples found are listed
    colornb prepare --data runs/train_photos --out runs/photos256.npy --size 256

The samples are found by their 16×16 gray thumbnails (centre square, each normalised): on 2026-12-06, 19 photos of
`registry/` were copies of 18 of the 20 samples (one sample twice; matplotlib_grace_hopper and scipy_face were not there),
and 8,807 photos were linked.
"""
import sys
from pathlib import Path
import numpy as np
from PIL import Image
from colornb.data import find_photos, image_files
from colornb.images import SAMPLES_PATH

def thumbnail(f:Path, side:int=16)->np.ndarray:
    "The centre square of the photo `f` in gray at `side`×`side`, normalised to mean 0 and standard deviation 1."
    with Image.open(f) as im:
        im = im.convert('L'); w, h = im.size; s = min(w, h)
        im = im.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s)).resize((side, side), Image.BILINEAR)
        a = np.asarray(im, dtype=np.float32)
    return (a - a.mean()) / (a.std() + 1e-6)

def sample_copies(photos:list, max_mse:float=0.1)->dict:
    "photo → the colornb sample it is a copy of, for the `photos` whose thumbnail is within `max_mse` of a sample's."
    samples = {p.name: thumbnail(p) for p in sorted(SAMPLES_PATH.glob('*.jpg'))}
    found = {}
    for f in photos:
        t = thumbnail(f)
        if match := next((n for n, s in samples.items() if np.mean((t - s)**2) < max_mse), None): found[f] = match
    return found

def link_training_photos(root:Path, dest:Path, holdout:float=0.1)->list:
    "Link the photos of `root` outside its held-out split, less copies of the samples, into `dest`; the photos linked."
    copies = sample_copies(image_files(root))
    for f, name in copies.items(): print(f"left out {f.relative_to(root)}: a copy of the sample {name}")
    kept = [f for f in find_photos(root, holdout=holdout) if f not in copies]
    for f in kept:
        link = dest/f.relative_to(root)
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.exists(): link.symlink_to(f.resolve())
    return kept

if __name__ == '__main__':
    root, dest = Path(sys.argv[1]), Path(sys.argv[2])
    print(f"{len(link_training_photos(root, dest))} photos linked into {dest}")
