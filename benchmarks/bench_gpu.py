"""Section 5, GPU training: images/s of both stages at 256 px, batch 16 and 64, in fp32, bf16 and fp16 mixed precision,
with and without channels-last, bf16 compiled as `colornb train --compile` does (`compile_networks`: the U-Net's
encoder and decoder blocks, and D; the warm-up batches include the compilation), and bf16 with G's odd channel counts
padded to multiples of 8 (`colornb.generator.pad_channels`), each against fp32 at the same batch size;
all with cuDNN's autotuner, as `colornb train` has it (added after the 2026-11-26 figures), and bf16 without it; and
bf16 with the data loaded while the clock runs, from a `colornb prepare` file (the others have their batches made
before). Each row also says what its images/s mean: the TFLOP/s of the step's matrix work (counted by
`torch.utils.flop_counter`), their share of the GPU's datasheet bf16 peak (MFU) and of the bf16 matrix-multiplication
rate measured in the same run, and the time a COCO epoch (118,287 photos) would take. Reported, no target.
"""
import torch
from typing import NamedTuple
from harness import RunOptions, best_time, log, photo_folder, row
from bench_train import train_fastai, _plain_pretrain_step, _plain_gan_step, _sync

TITLE = '5. GPU training'

class Config(NamedTuple):
    "One way to run the training step: `train_fastai`'s switches."
    precision:str='fp32'
    channels_last:bool=False
    compile:bool=False
    pad:bool=False # G's odd channel counts padded to multiples of 8 (`pad_channels`; with channels-last: `colornb train`'s GPU default)
    autotune:bool=True # cuDNN's autotuner (`CudnnAutotune`), as `colornb train` has it on a GPU
    data_included:bool=False # the batches loaded while the clock runs, from a `colornb prepare` file
    blocking_copy:bool=False # with `data_included`: through fastai's `DataLoader`, whose copy to the GPU waits
    def name(self)->str:
        return self.precision + ''.join(f' {n}' for n, on in (('channels-last', self.channels_last),
                                        ('torch.compile', self.compile), ('channels padded', self.pad),
                                        ('without the autotuner', not self.autotune),
                                        ('data included', self.data_included),
                                        ("fastai's blocking copy", self.blocking_copy)) if on)

def gpu_configs(quick:bool)->list:
    "The `Config`s to measure, fp32 eager without channels-last first: the baseline."
    if quick: return [Config(), Config('bf16', channels_last=True), Config('bf16', pad=True),
                      Config('bf16', channels_last=True, pad=True), Config('bf16', data_included=True),
                      Config('bf16', data_included=True, blocking_copy=True)]
    return [Config(p, cl) for p in ('fp32', 'bf16', 'fp16') for cl in (False, True)] + [
        Config('bf16', autotune=False), Config('bf16', compile=True), Config('bf16', pad=True),
        Config('bf16', channels_last=True, pad=True), Config('bf16', data_included=True),
        Config('bf16', data_included=True, blocking_copy=True)]

COCO_TRAIN_PHOTOS = 118_287
# dense (no sparsity) bf16 tensor-core TFLOP/s from NVIDIA's datasheets; the first name found in the GPU's name counts
BF16_PEAK_TFLOPS = (('H100 PCIe', 756), ('H100 NVL', 835), ('H200 NVL', 835), ('H100', 989), ('H200', 989),
                    ('A100', 312), ('L40S', 362), ('L40', 181), ('L4', 121)) # L40S and L40 before L4, their prefix

def datasheet_bf16_tflops(gpu:str # a GPU's name, as `torch.cuda.get_device_name` gives it
                         )->float:
    "The datasheet's dense bf16 TFLOP/s of the GPU called `gpu`; None for one not in `BF16_PEAK_TFLOPS`."
    return next((float(t) for name, t in BF16_PEAK_TFLOPS if name in gpu), None)

def matmul_tflops(device:str='cuda', n:int=8192, repeats:int=5, dtype:torch.dtype=torch.bfloat16)->float:
    "TFLOP/s of `n`×`n` matrix multiplications in `dtype` on `device`, ten in a row, the best of `repeats`: the usable peak."
    dev = torch.device(device)
    a = torch.randn(n, n, device=dev, dtype=dtype); b = torch.randn_like(a)
    def ten():
        for _ in range(10): a @ b
        _sync(dev)
    return 10 * 2 * n**3 / best_time(ten, repeats) / 1e12

def conv_backward_flops(grad_out_shape, x_shape, w_shape, _bias, _stride, _padding, _dilation, transposed,
                        _output_padding, _groups, output_mask, out_shape, **kwargs)->int:
    """FLOPs of a convolution's backward pass, for `FlopCounterMode`'s `custom_mapping`: the input's gradient as torch
    counts it, the weights' gradient as many as the forward pass. torch 2.14 counts a grouped convolution's weight
    gradient as if it were dense (`groups` times too many: 32-1152× for EfficientNet-Lite's depthwise convolutions;
    pytorch/pytorch#183405); for `groups=1` both counts are the same."""
    from torch.utils.flop_counter import conv_flop_count
    flops = 0
    if output_mask[0]: flops += conv_flop_count(grad_out_shape, w_shape, out_shape[0], not transposed)
    if output_mask[1]: flops += conv_flop_count(x_shape, w_shape, grad_out_shape, transposed)
    return flops

def flops_per_image(step, # a function of no argument: one training step on a batch of `bs`
                    bs:int)->float:
    """FLOPs per image of one call of `step`: its convolutions and matrix multiplications, by `torch.utils.flop_counter`
    (with grouped convolutions' backward counted by `conv_backward_flops`)."""
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False, custom_mapping={torch.ops.aten.convolution_backward: conv_backward_flops}) as c:
        step()
    return c.get_total_flops() / bs

def step_flops(stage:str, # 'pretrain' (L1) or 'gan' (D's update, then G's through D)
               size:int=256,
               arch:str='resnet18' # the generator's body, as `build_generator` takes it
              )->float:
    """FLOPs of one training step per image: the convolutions and matrix multiplications of its forward and backward
    passes, which is what MFU counts; by `torch.utils.flop_counter` over one step of the plain loop at batch 2 (at
    batch 1, BatchNorm cannot train on the 1×1 bottleneck of a small `size`), on the meta device: counted, not
    computed, the same on any device."""
    from colornb.generator import build_generator
    dev = torch.device('meta')
    L, ab = torch.randn(2, 1, size, size, device=dev), torch.randn(2, 2, size, size, device=dev)
    G = build_generator(arch, size=size, pretrained=False).to(dev).train()
    step = _plain_pretrain_step(G, L, ab) if stage == 'pretrain' else _plain_gan_step(G, L, ab, dev)
    return flops_per_image(step, 2)

def utilization(images_per_s:float, flops_per_image:float,
                peaks:dict # name → TFLOP/s (None: unknown), e.g. the datasheet's and the measured matmul rate
               )->dict:
    "What `images_per_s` means: the step's TFLOP/s, their share of each peak in `peaks`, and a COCO epoch's seconds."
    tflops = images_per_s * flops_per_image / 1e12
    return dict(tflops=tflops, **{f'share_of_{k}': tflops / v for k, v in peaks.items() if v},
                coco_epoch_s=COCO_TRAIN_PHOTOS / images_per_s)

PEAK_WORDS = dict(datasheet_bf16_peak="the datasheet's bf16 peak, {:.0f} TFLOP/s (MFU)",
                  measured_bf16_matmul='the {:.0f} TFLOP/s of bf16 matmuls measured here')

def utilization_note(u:dict, # from `utilization`
                     peaks:dict # as given to `utilization`
                    )->str:
    "`u` in words, for a row's note."
    shares = [f"{u[f'share_of_{k}']:.1%} of " + PEAK_WORDS.get(k, k + ' {:.0f}').format(v) for k, v in peaks.items() if v]
    return (f"{u['tflops']:.1f} TFLOP/s of matrix work, " + ', '.join(shares) +
            f"; a COCO epoch ({COCO_TRAIN_PHOTOS:,} photos) {u['coco_epoch_s']:.0f} s")

def gpu_peaks(device:str='cuda', quick:bool=False)->dict:
    "The bf16 peaks that MFU is measured against: the datasheet's (where the GPU is known) and a measured matmul rate."
    dev = torch.device(device)
    name = torch.cuda.get_device_name(dev) if dev.type == 'cuda' else ''
    return dict(datasheet_bf16_peak=datasheet_bf16_tflops(name),
                measured_bf16_matmul=matmul_tflops(device, n=256 if quick else 8192))

def bench_gpu(data:str, # a folder of at least max(batch_sizes) * (warmup + steps) + 1 photos
              size:int=256, batch_sizes=(16, 64), warmup:int=3, steps:int=10, quick:bool=False,
              configs:list=None, # `Config`s, the baseline first (default: `gpu_configs`)
              device:str='cuda' # 'cpu' only to test this code
             )->list:
    "Table rows: one per stage, batch size and configuration, through colornb's fastai `Learner`, with their MFU."
    log('  gpu: the bf16 peaks and the steps\' FLOPs ...')
    peaks, rows = gpu_peaks(device, quick), []
    for stage in ('pretrain', 'gan'):
        flops = step_flops(stage, size)
        for bs in batch_sizes:
            base = None
            for c in configs or gpu_configs(quick):
                r = train_fastai(stage, data, size=size, bs=bs, warmup=warmup, steps=steps, device=device,
                                 **c._asdict())
                t = r['s_per_batch']
                base = base or t
                u = utilization(bs / t, flops, peaks)
                note = f"{utilization_note(u, peaks)}; peak GPU memory {r['gpu_peak_mb'] or 0:.0f} MB"
                if c.compile: note += (f"; graphs newly compiled {r['graphs']} (0: reused from an earlier row), "
                                      f"graph breaks {r['graph_breaks']}")
                rows.append(dict(row(f"{stage} bs {bs}, {c.name()}", bs / t, 'img/s', baseline=bs / base,
                                     ratio=base / t, note=note), flops_per_image=flops, **u))
                log(f"  gpu {rows[-1]['name']}: {rows[-1]['value']:.1f} img/s")
    return rows

def measure(opts:RunOptions)->list:
    "Section 5 at the sizes of the command line."
    if opts.quick:
        data = photo_folder(opts.tmp/'gpu', 4 * 3 + 1, side=96)
        return bench_gpu(str(data), size=64, batch_sizes=(4,), warmup=1, steps=2, quick=True)
    data = photo_folder(opts.tmp/'gpu', 64 * 13 + 1, side=288)
    return bench_gpu(str(data), size=256, batch_sizes=(16, 64), warmup=3, steps=10)
