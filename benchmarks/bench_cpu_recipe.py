"""Section 7, CPU training recipe: what two cores train best in about two hours (issue 30, section 3).

Each row times one training step, batch 16, of a plain PyTorch loop (forward, loss, backward, Adam: bench_train's plain
loops, with `torch.autocast('cpu', dtype=torch.bfloat16)` around forward and loss in the bf16 rows), from random
weights, on synthetic L and ab made before the clock: one warm-up step, then the best of `--steps` timed steps. The
levers: bf16 autocast (on CPUs with AVX-512 BF16), channels-last, the training size (128, 192 and 256 px: progressive
resizing's per-image cost), bigger encoders (tf_efficientnet_lite1 and lite2; resnet18 for reference), the encoder's
first stages frozen, ab predicted at half the resolution of L (the U-Net without its full-size tail: a timing variant
here, not a colornb feature), and the GAN step against the L1 step. Unless a row says otherwise it is the
tf_efficientnet_lite0 U-Net at 128 px in bf16, L1 step.

Every ratio is a row's images/s over today's fp32 step (lite0, 128 px, fp32, L1) measured in the same run. The rows run
in one process, one after another; the baseline runs first and again last, both are reported, and the ratios are
against the faster of the two, so that neither a warm-up nor a change in the machine's load part-way through favours
the other rows. Each row also says what its images/s mean: its GFLOP/s of matrix work (the step's FLOPs per image
counted by `torch.utils.flop_counter` on the meta device, grouped convolutions' backward corrected by
`bench_gpu.conv_backward_flops`; the count does not depend on precision or memory layout), their share of the rate of
2048×2048 matrix multiplications in the row's dtype (fp32 or bf16) measured on the same CPU in the same run, and how
many image-steps two hours buy at its rate. Reported, no target. The half-size row's note also gives the share of the
U-Net's forward FLOPs in its full-size tail (lite0 at 128 px: 33.9 %; its L1 step counts 4.99 GFLOP per image against
the baseline's 7.55).

How long: a full run (`--steps 3`: 12 measurements of 1 + 3 steps) should take about 3 minutes on 2 quiet cores
(2 to 5), estimated from each row's FLOPs and two full-size rows timed on one thread beside other work (load average
5-6): the baseline's step 3.2 CPU-seconds (38 GFLOP of matrix work per CPU-second), lite0 at 256 px in bf16 8.6
(56 per CPU-second); about 200 CPU-seconds of steps, resnet18's the most (its U-Net is 5.6× lite0's FLOPs), and 40 of
building the models, counting FLOPs and the matmul rates. `--quick` (32 px, batch 2, one timed step) runs on one torch
thread, about 25 CPU-seconds: with two, beside a training job at a higher priority, its OpenMP threads waited on each
other for 7 minutes here; its figures mean nothing either way.
"""
import torch, torch.nn as nn, torch.nn.functional as F
from typing import NamedTuple
from harness import RunOptions, best_time, log, row
from bench_train import _plain_pretrain_step, _plain_gan_step
from bench_gpu import flops_per_image, matmul_tflops

TITLE = '7. CPU training recipe'
TWO_HOURS_S = 2 * 3600
DTYPES = dict(fp32=None, bf16=torch.bfloat16) # precision → autocast dtype (None: none)

class Recipe(NamedTuple):
    "One way to run the training step on a CPU."
    arch:str='tf_efficientnet_lite0' # the generator's body, as `build_generator` takes it
    size:int=128 # px, the square training crop
    precision:str='bf16' # 'fp32', or 'bf16' autocast around forward and loss
    channels_last:bool=False # model and batch in `torch.channels_last`
    frozen:bool=False # the body's layers up to and including the stride-4 stage take no gradient (`early_layers`)
    half_ab:bool=False # ab predicted at half the size of L (`HalfSizeAb`), L1 against ab downsampled by 2
    stage:str='pretrain' # 'pretrain' (the L1 step) or 'gan' (D's update, then G's through D with λ·L1)
    def name(self)->str:
        arch = self.arch.replace('tf_efficientnet_', '')
        return f'{arch}, {self.size} px, {self.precision}' + ''.join(f', {n}' for n, on in (
            ('channels-last', self.channels_last), ('first stages frozen', self.frozen),
            ('ab at half size', self.half_ab)) if on) + (', GAN step' if self.stage == 'gan' else ', L1 step')

def recipes(size:int=128 # the baseline's size; the size rows take 1.5× and 2× it
           )->list:
    "The `Recipe`s to measure, the baseline (lite0, fp32, L1) first; the baseline runs again after them."
    lite0 = Recipe(size=size)
    return [lite0._replace(precision='fp32'), lite0, lite0._replace(channels_last=True),
            lite0._replace(size=size * 3 // 2), lite0._replace(size=size * 2),
            lite0._replace(arch='tf_efficientnet_lite1'), lite0._replace(arch='tf_efficientnet_lite2'),
            lite0._replace(arch='resnet18'), lite0._replace(frozen=True), lite0._replace(half_ab=True),
            lite0._replace(stage='gan')]

# ---------------------------------------------------------------- the variants of the generator

def freeze_first_stages(G:nn.Module # from `build_generator`
                       )->str: # what was frozen, in words
    "Stop the gradient of `G`'s `early_layers`, as `colornb train --freeze-early` does (their BatchNorms still learn)."
    from colornb.generator import early_layers
    frozen = early_layers(G)
    frozen.requires_grad_(False)
    return (f"the body's first {len(frozen)} layers ({sum(p.numel() for p in frozen.parameters()):,} of the U-Net's "
            f"{sum(p.numel() for p in G.parameters()):,} parameters)")

def tail_start(G:nn.Module # a fastai `DynamicUnet`
              )->int:
    """Where `G`'s full-size tail starts among its layers: after its last `UnetBlock` (at half size), the final
    `PixelShuffle_ICNR` upsampling to full size, `ResizeToOrig`, the `last_cross` concatenation with the input
    (`MergeLayer`), the full-size `ResBlock`, the 1×1 convolution to ab, `SigmoidRange` and `ToTensorBase`."""
    from fastai.vision.models.unet import UnetBlock
    from fastai.layers import PixelShuffle_ICNR
    i = max(i for i, l in enumerate(G.layers) if isinstance(l, UnetBlock)) + 1
    if not isinstance(G.layers[i], PixelShuffle_ICNR):
        raise ValueError(f"The U-Net's last UnetBlock is followed by {type(G.layers[i]).__name__}: it is at full size")
    return i

class HalfSizeAb(nn.Module):
    """For timing only: `G` without its full-size tail (`tail_start`), predicting ab at half size by a 1×1 convolution
    from its last `UnetBlock`'s output, in [-1, 1] as `G`'s own output."""
    def __init__(self, G:nn.Module # from `build_generator`
                ):
        from fastai.layers import ConvLayer, SigmoidRange
        super().__init__()
        i = tail_start(G)
        self.front = nn.Sequential(*G.layers[:i])
        ni = next(m for m in G.layers[i].modules() if isinstance(m, nn.Conv2d)).in_channels # the upsampling's input
        self.head = nn.Sequential(ConvLayer(ni, 2, ks=1, act_cls=None), SigmoidRange(-1., 1.))
        object.__setattr__(self, 'unet', G) # not a submodule: it keeps the encoder's hooks, which `G.__del__` removes
    def forward(self, x): return self.head(self.front(x))

def recipe_generator(r:Recipe)->nn.Module:
    "The generator that `r` trains, on the CPU, in training mode, random weights."
    from colornb.generator import build_generator
    G = build_generator(r.arch, size=r.size, pretrained=False)
    if r.frozen: freeze_first_stages(G)
    return (HalfSizeAb(G) if r.half_ab else G).train()

def tail_flop_share(arch:str='tf_efficientnet_lite0', size:int=128)->float:
    "The share of the U-Net's forward FLOPs in its full-size tail (`tail_start`), counted per module on the meta device."
    from torch.utils.flop_counter import FlopCounterMode
    from colornb.generator import build_generator
    G = build_generator(arch, size=size, pretrained=False).to('meta').train()
    with FlopCounterMode(display=False) as counter: G(torch.zeros(2, 1, size, size, device='meta'))
    counts = counter.get_flop_counts()
    tail = sum(sum(counts.get(f'DynamicUnet.layers.{i}', {}).values()) for i in range(tail_start(G), len(G.layers)))
    return tail / counter.get_total_flops()

# ---------------------------------------------------------------- one row

def recipe_step(r:Recipe, G:nn.Module, L:torch.Tensor, ab:torch.Tensor):
    "One training step of `G` as `r` says, on the batch (L, ab), as a function of no argument that returns the loss(es)."
    if r.half_ab:
        if r.stage == 'gan': raise ValueError('ab at half size is an L1 step here: D takes ab at the size of L')
        ab = F.avg_pool2d(ab, 2)
    if r.channels_last:
        G = G.to(memory_format=torch.channels_last)
        L, ab = (t.contiguous(memory_format=torch.channels_last) for t in (L, ab))
    amp = DTYPES[r.precision]
    return _plain_pretrain_step(G, L, ab, amp) if r.stage == 'pretrain' else _plain_gan_step(G, L, ab, L.device, amp)

def recipe_flops(r:Recipe)->float:
    "FLOPs per image of `r`'s step, counted on the meta device at batch 2 (fp32: the count is the same in bf16)."
    dev = torch.device('meta')
    L, ab = torch.zeros(2, 1, r.size, r.size, device=dev), torch.zeros(2, 2, r.size, r.size, device=dev)
    return flops_per_image(recipe_step(r._replace(precision='fp32'), recipe_generator(r).to(dev), L, ab), 2)

def time_recipe(r:Recipe, bs:int=16, warmup:int=1, steps:int=3)->float:
    "Seconds per step of `r`: the best of `steps` timed steps after `warmup`, on a synthetic batch made before the clock."
    torch.manual_seed(0)
    G = recipe_generator(r)
    L, ab = torch.rand(bs, 1, r.size, r.size) * 2 - 1, torch.rand(bs, 2, r.size, r.size) * 2 - 1
    step, losses = recipe_step(r, G, L, ab), []
    t = best_time(lambda: losses.append(step()), steps, warmup)
    assert torch.stack(losses).isfinite().all(), f'the losses of {r.name()} are not finite'
    return t

# ---------------------------------------------------------------- the section

def matmul_gflops(quick:bool=False)->dict:
    "GFLOP/s of square matrix multiplications on this CPU (n = 2048; 256 under `quick`), per precision: the usable peaks."
    n = 256 if quick else 2048
    return {p: matmul_tflops('cpu', n=n, repeats=3, dtype=dt or torch.float32) * 1e3 for p, dt in DTYPES.items()}

def recipe_note(r:Recipe, u:dict, t:float, bs:int, steps:int, gflops:dict)->str:
    "What a row's images/s mean, in words."
    return (f"{t:.3g} s/step (best of {steps}); {u['flops_per_image'] / 1e9:.2f} GFLOP per image-step, "
            f"{u['gflops']:.1f} GFLOP/s of matrix work, {u['share_of_matmul']:.1%} of the {gflops[r.precision]:.0f} "
            f"GFLOP/s of {r.precision} matmuls measured here; two hours: {u['images_in_two_hours']:,.0f} image-steps "
            f"({u['images_in_two_hours'] / bs:,.0f} steps of {bs})")

def bench_cpu_recipe(size:int=128, bs:int=16, warmup:int=1, steps:int=3, quick:bool=False)->list:
    "Table rows: images/s of each `recipes(size)` and of the baseline again, against the faster baseline."
    log('  cpu_recipe: the matmul rates ...')
    gflops, times = matmul_gflops(quick), []
    log('  cpu_recipe: ' + ', '.join(f'{p} matmuls {g:.0f} GFLOP/s' for p, g in gflops.items()))
    rs = recipes(size)
    for r in rs + rs[:1]:
        times.append(time_recipe(r, bs, warmup, steps))
        log(f'  cpu_recipe {r.name()}: {bs / times[-1]:.2f} img/s')
    base = bs / min(times[0], times[-1])
    rows, flops = [], {}
    for i, (r, t) in enumerate(zip(rs + rs[:1], times)):
        if r not in flops: flops[r] = recipe_flops(r)
        rate = bs / t * flops[r] / 1e9
        u = dict(flops_per_image=flops[r], gflops=rate, share_of_matmul=rate / gflops[r.precision],
                 matmul_gflops=gflops[r.precision], images_in_two_hours=bs / t * TWO_HOURS_S)
        note = recipe_note(r, u, t, bs, steps, gflops)
        if r.frozen: note += '; frozen: ' + freeze_first_stages(recipe_generator(r._replace(frozen=False)))
        if r.half_ab: note += (f"; the full-size tail is {tail_flop_share(r.arch, r.size):.1%} of the U-Net's forward "
                               f"FLOPs, this step {flops[r] / flops[rs[0]]:.1%} of the baseline's FLOPs")
        name = r.name() + (' (baseline, first)' if i == 0 else ' (baseline again, last)' if i == len(rs) else '')
        rows.append(dict(row(name, bs / t, 'img/s', baseline=base, ratio=bs / t / base, note=note), **u))
    return rows

def measure(opts:RunOptions)->list:
    "Section 7 at the sizes of the command line; `--quick` on one thread (a smoke test of the code, see above)."
    if not opts.quick: return bench_cpu_recipe(size=128, bs=16, warmup=1, steps=opts.steps)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try: return bench_cpu_recipe(size=32, bs=2, warmup=1, steps=1, quick=True)
    finally: torch.set_num_threads(threads)
