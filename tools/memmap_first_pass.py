"""Whether the first pass over a freshly written prepared file is slower than later ones (issue 15, 2026-11-27).

`colornb prepare` writes photos as uint8 squares into a memory-mapped `.npy`, and `prepared_dls` gathers each batch
with one fancy index of sorted random rows. This writes a file of the shape of the third GPU loan's (21,536 photos at
288 px, 5.36 GB) the same way, then times three passes of such gathers (batches of 64) in one process:

    python tools/memmap_first_pass.py [--dir /tmp] [--n 21536]

On the 2-core CPU machine: written in 12.4 s; each pass 0.7 s, about 30,000 photos/s, the first as fast as the next.
"""
import argparse, os, time
from pathlib import Path
import numpy as np

def main(folder:Path, n:int, side:int=288, bs:int=64, passes:int=3):
    path = folder/'memmap_first_pass.npy'
    try:
        t = time.perf_counter()
        arr = np.lib.format.open_memmap(path, mode='w+', dtype=np.uint8, shape=(n, side, side, 3))
        rng = np.random.default_rng(0)
        block = rng.integers(0, 255, size=(256, side, side, 3), dtype=np.uint8)
        for i in range(0, n, 256): arr[i:i + 256] = block[:min(256, n - i)]
        arr.flush(); del arr
        print(f'written {os.path.getsize(path) / 1e9:.2f} GB in {time.perf_counter() - t:.1f} s', flush=True)
        for p in range(passes):
            arr, idx = np.load(path, mmap_mode='r'), rng.permutation(n)
            t = time.perf_counter()
            for i in range(0, n - bs + 1, bs): arr[np.sort(idx[i:i + bs])]
            dt = time.perf_counter() - t
            print(f'pass {p + 1}: {dt:.1f} s, {n / dt:.0f} photos/s', flush=True)
            del arr
    finally: path.unlink(missing_ok=True)

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--dir', type=Path, default=Path('/tmp'), help='where the file is written (and removed after)')
    ap.add_argument('--n', type=int, default=21536, help='photos in the file')
    a = ap.parse_args()
    main(a.dir, a.n)
