"""Section 5, GPU training: images/s of both stages at 256 px, batch 16 and 64, in fp32, bf16 and fp16 mixed precision,
with and without channels-last, bf16 compiled as `colornb train --compile` does (`compile_networks`: the U-Net's
encoder and decoder blocks, and D; the warm-up batches include the compilation), and bf16 with G's odd channel counts
padded to multiples of 8 (`bench_train.pad_channels`, an experiment), each against fp32 at the same batch size;
all with cuDNN's autotuner, as `colornb train` has it (added after the 2026-11-26 figures), and bf16 without it.
Reported, no target.
"""
from typing import NamedTuple
from harness import RunOptions, log, photo_folder, row
from bench_train import train_fastai

TITLE = '5. GPU training'

class Config(NamedTuple):
    "One way to run the training step: `train_fastai`'s switches."
    precision:str='fp32'
    channels_last:bool=False
    compile:bool=False
    pad:bool=False # G's odd channel counts padded to multiples of 8 (`bench_train.pad_channels`)
    autotune:bool=True # cuDNN's autotuner (`CudnnAutotune`), as `colornb train` has it on a GPU
    def name(self)->str:
        return self.precision + ''.join(f' {n}' for n, on in (('channels-last', self.channels_last),
                                        ('torch.compile', self.compile), ('channels padded', self.pad),
                                        ('without the autotuner', not self.autotune)) if on)

def gpu_configs(quick:bool)->list:
    "The `Config`s to measure, fp32 eager without channels-last first: the baseline."
    if quick: return [Config(), Config('bf16', channels_last=True), Config('bf16', pad=True)]
    return [Config(p, cl) for p in ('fp32', 'bf16', 'fp16') for cl in (False, True)] + [
        Config('bf16', autotune=False), Config('bf16', compile=True), Config('bf16', pad=True),
        Config('bf16', channels_last=True, pad=True)]

def bench_gpu(data:str, # a folder of at least max(batch_sizes) * (warmup + steps) + 1 photos
              size:int=256, batch_sizes=(16, 64), warmup:int=3, steps:int=10, quick:bool=False,
              configs:list=None # `Config`s, the baseline first (default: `gpu_configs`)
             )->list:
    "Table rows: one per stage, batch size and configuration, through colornb's fastai `Learner` on CUDA."
    rows = []
    for stage in ('pretrain', 'gan'):
        for bs in batch_sizes:
            base = None
            for c in configs or gpu_configs(quick):
                r = train_fastai(stage, data, size=size, bs=bs, warmup=warmup, steps=steps, device='cuda',
                                 **c._asdict())
                t = r['s_per_batch']
                base = base or t
                note = f"peak GPU memory {r['gpu_peak_mb']:.0f} MB"
                if c.compile: note += (f"; graphs newly compiled {r['graphs']} (0: reused from an earlier row), "
                                      f"graph breaks {r['graph_breaks']}")
                rows.append(row(f"{stage} bs {bs}, {c.name()}", bs / t, 'img/s', baseline=bs / base, ratio=base / t,
                                note=note))
                log(f"  gpu {rows[-1]['name']}: {rows[-1]['value']:.1f} img/s")
    return rows

def measure(opts:RunOptions)->list:
    "Section 5 at the sizes of the command line."
    if opts.quick:
        data = photo_folder(opts.tmp/'gpu', 4 * 3 + 1, side=96)
        return bench_gpu(str(data), size=64, batch_sizes=(4,), warmup=1, steps=2, quick=True)
    data = photo_folder(opts.tmp/'gpu', 64 * 13 + 1, side=288)
    return bench_gpu(str(data), size=256, batch_sizes=(16, 64), warmup=3, steps=10)
