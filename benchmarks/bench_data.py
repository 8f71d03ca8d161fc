"""Section 2, data loading: `colorization_dls` against a `torch.utils.data.Dataset` that uses scikit-image.

Target: ≥ 2× the plain `Dataset`'s images/s, with the same batch size and worker processes.
"""
import tempfile
from pathlib import Path
import numpy as np
import torch
from harness import RunOptions, best_time, photo_folder, row

TITLE = '2. Data loading'

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

def _count_epoch(dl)->int:
    "Iterate over one epoch of `dl`; the number of photos it gave."
    k = 0
    for L, ab in dl: k += len(L)
    return k

def bench_data(n:int=128, # photos in the folder
               size:int=256, # side of the crops
               bs:int=16, # batch size
               num_workers:int=2, # loader processes
               repeats:int=2 # timed epochs
              )->list: # table rows
    "Images/s of an epoch of the plain `Dataset` and of colornb's `DataLoaders`, worker start-up included."
    from colornb.data import colorization_dls, prepare_photos
    with tempfile.TemporaryDirectory() as d:
        files = sorted(photo_folder(Path(d)/'photos', n).glob('*.jpg'))
        dls = colorization_dls(files, size=size, bs=bs, valid_pct=0.01, num_workers=num_workers, check_photos=False)
        plain = torch.utils.data.DataLoader(SkimageDataset(dls.train.items, size), batch_size=bs, shuffle=True,
                                            drop_last=True, num_workers=num_workers, persistent_workers=False)
        n_items = _count_epoch(dls.train) # untimed: compiles the Lab conversion
        t_fa = best_time(lambda: _count_epoch(dls.train), repeats, warmup=0)
        t_pl = best_time(lambda: _count_epoch(plain), repeats, warmup=0)
        npy = prepare_photos(files, Path(d)/'photos.npy', size=size) # once, untimed: what `colornb prepare` does
        prepared = colorization_dls(npy, size=size, bs=bs, valid_pct=0.01, device='cpu')
        n_prep = _count_epoch(prepared.train)
        t_prep = best_time(lambda: _count_epoch(prepared.train), repeats, warmup=0)
    note = (f'{n_items} photos per epoch ({size} px crops of the shipped samples, 300-768 px), batch {bs}, '
            f'{num_workers} workers, worker start-up included')
    return [row('torch Dataset + scikit-image in __getitem__', n_items / t_pl, 'img/s'),
            row('colornb colorization_dls', n_items / t_fa, 'img/s', baseline=n_items / t_pl, ratio=t_pl / t_fa,
                target=2, note=note),
            row('colornb prepared .npy (colornb prepare), on the CPU', n_prep / t_prep, 'img/s',
                baseline=n_items / t_fa, ratio=(n_prep / t_prep) / (n_items / t_fa),
                note=f'{n_prep} photos per epoch, no workers; crops, flips and Lab on the CPU (on the GPU in training); '
                     'ratio against colorization_dls')]

def measure(opts:RunOptions)->list:
    "Section 2 at the sizes of the command line."
    q = opts.quick
    return bench_data(n=24 if q else 128, size=64 if q else 256, bs=4 if q else 16, num_workers=0 if q else 2,
                      repeats=1 if q else 2)
