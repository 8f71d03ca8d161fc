"""Section 3, training steps: colornb's fastai `Learner` against a plain PyTorch loop doing the same math.

Both stages, at 256 px and batch 16: stage 1 (L1) and stage 2 (D and G updates). Measured is the time per training
batch, callbacks, progress bar and recorder included, validation and data loading not (every batch is made before the
clock starts). Target: ≤ 1.05× the plain loop's time.
The clock runs over all the timed batches, with the GPU's queue waited for only at the window's two ends: a wait around
every batch would hide the host reads (a loss's `.item()`, a progress bar's number) that make a loop slower on a GPU.
Each measurement runs in a fresh process (`isolated`), so that its peak RSS is its own.
"""
import contextlib, time
from pathlib import Path
import torch
from harness import RunOptions, isolated, log, photo_folder, row

TITLE = '3. Training steps'

def _device(device:str # 'cpu', 'cuda' or 'auto' (CUDA when there is a GPU)
           )->torch.device:
    "The torch device `device` names."
    return torch.device(device if device != 'auto' else 'cuda' if torch.cuda.is_available() else 'cpu')

def _sync(dev:torch.device):
    "Wait for the GPU's queued work, so that the clock sees it; nothing on the CPU."
    if dev.type == 'cuda': torch.cuda.synchronize()

def _gpu_peak_mb(dev:torch.device)->float:
    "Peak GPU memory allocated since the last reset, in MB; None on the CPU."
    return torch.cuda.max_memory_allocated() / 2**20 if dev.type == 'cuda' else None

def _train_dls(data:str, size:int, bs:int, n_batches:int, dev:torch.device):
    "`DataLoaders` of exactly `n_batches` training batches of the photos in `data` (and one validation photo)."
    from colornb.data import colorization_dls
    files = sorted(Path(data).glob('*.jpg'))[:bs * n_batches + 1]
    assert len(files) == bs * n_batches + 1, f'{data} needs {bs * n_batches + 1} photos'
    return colorization_dls(files, size=size, bs=bs, valid_pct=1.5 / len(files), num_workers=0, check_photos=False,
                            device=dev)

def _prepared_dls(data:str, size:int, bs:int, n_batches:int, dev:torch.device, blocking_copy:bool=False):
    """`DataLoaders` of exactly `n_batches` training batches (and one validation photo) read from a `colornb prepare`
    file of the photos in `data`, made beside it once: crops, flips and Lab on `dev`, as `colornb train` reads one;
    `blocking_copy`: through fastai's `DataLoader`, whose copy to the GPU waits (from pageable memory), instead of
    colornb's `NonBlockingDL`."""
    from fastai.data.core import DataLoaders
    from fastai.data.load import DataLoader
    from colornb.data import colorization_dls, prepare_photos
    n = bs * n_batches + 1
    npy = Path(data).parent/f'{Path(data).name}-{n}x{size}.npy'
    if not npy.exists(): prepare_photos(sorted(Path(data).glob('*.jpg'))[:n], npy, size=size)
    dls = colorization_dls(str(npy), size=size, bs=bs, valid_pct=1 / n, device=dev)
    if not blocking_copy: return dls
    plain = (dl.new(cls=DataLoader, pin_memory=False) for dl in dls) # as colornb read them before `NonBlockingDL`
    return DataLoaders(*plain, device=dev)

def _made_up_front(dls, dev:torch.device):
    "`dls` with every batch made once, now, on `dev`: a fastai loop over them reads no photo while it is timed."
    from fastai.data.core import DataLoaders
    from fastai.data.load import DataLoader
    return DataLoaders(*(DataLoader(list(dl), bs=None, device=dev) for dl in dls), device=dev) # bs=None: already batches

def _window(times:dict, warmup:int, steps:int)->float:
    "Seconds per timed batch: the clock at the end of the last warm-up batch and of the last timed one."
    return (times[warmup + steps - 1] - times[warmup - 1]) / steps

def train_fastai(stage:str, # 'pretrain' (L1) or 'gan'
                 data:str, # a folder of at least bs * (warmup + steps) + 1 photos
                 size:int=256, bs:int=16,
                 warmup:int=1, # untimed batches first (at least 1)
                 steps:int=3, # timed batches
                 device:str='auto', precision:str='fp32',
                 channels_last:bool=False, # channels-last: with `pad`, colornb's `PaddedChannelsLast`; without, fastai's own
                 compile:bool=False, # `torch.compile` G's parts that it can trace and D (colornb's `compile_networks`)
                 pad:bool=False, # `pad_channels` of G: its full-size ResBlock's 97 channels computed as 104
                 autotune:bool=True, # cuDNN's autotuner on a GPU, as `colornb train` has it (`CudnnAutotune`)
                 data_included:bool=False, # batches loaded while the clock runs, from a `colornb prepare` file of `data`
                 blocking_copy:bool=False, # with `data_included`: fastai's `DataLoader`, whose copy to the GPU waits
                 profile:int=0 # also profile the timed batches: the table of this many top operations, as 'profile'
                )->dict: # 's_per_batch' over the timed batches, 'gpu_peak_mb'
    """Time per batch of colornb's Learner (its callbacks, progress bar and recorder included; validation not, data
    only with `data_included`)."""
    from fastai.callback.core import Callback, CancelValidException
    from fastai.torch_core import set_seed
    from fastai.callback.channelslast import ChannelsLast
    from colornb.generator import build_generator, pad_channels
    from colornb.discriminator import PatchDiscriminator
    from colornb.pretrain import pretrain_learner
    from colornb.gan import gan_learner, compile_networks
    from colornb.training import set_precision, fewer_host_reads
    if blocking_copy and not data_included: raise ValueError('blocking_copy is a way of loading: it needs data_included')
    dev = _device(device)
    set_seed(0)
    if data_included: dls = _prepared_dls(data, size, bs, warmup + steps, dev, blocking_copy)
    else: dls = _made_up_front(_train_dls(data, size, bs, warmup + steps, dev), dev) # every batch made before
    torch.manual_seed(0)
    G = build_generator('resnet18', size=size, pretrained=False)
    if pad and not channels_last: pad_channels(G) # in the standard layout
    ends = {} # training batch → the clock at its end, after the last callback
    class Clock(Callback):
        order = 1000
        def before_validate(self): raise CancelValidException()
        def after_batch(self):
            if not self.training: return
            if self.iter in (warmup - 1, warmup + steps - 1): _sync(dev) # only the window's two ends wait for the GPU
            ends[self.iter] = time.perf_counter()
            if prof: prof.step()
    if stage == 'pretrain': learn = pretrain_learner(dls, G=G)
    else: learn = gan_learner(dls, generator=G, D=PatchDiscriminator())
    if compile:
        from torch._dynamo.utils import counters
        counters.clear(); compile_networks(learn) # counted per measurement below
    learn.add_cb(Clock())
    set_precision(learn, precision, channels_last and pad, autotune)
    if channels_last and not pad: learn.add_cb(ChannelsLast()) # unpadded: fastai's callback
    fewer_host_reads(learn, 50 if dev.type == 'cuda' else 1) # as `colornb train` does (`loss_every`)
    if dev.type == 'cuda': torch.cuda.reset_peak_memory_stats()
    prof = _profiler(dev, warmup, steps) if profile else None
    if prof: prof.start()
    learn.fit(1, lr=learn.lr)
    res = dict(s_per_batch=_window(ends, warmup, steps), gpu_peak_mb=_gpu_peak_mb(dev))
    if compile: # what dynamo made of it: the graphs it compiled and the breaks it fell back to Python at
        res.update(graphs=counters['stats'].get('unique_graphs', 0), graph_breaks=sum(counters['graph_break'].values()))
    if prof:
        prof.stop()
        by = 'cuda_time_total' if dev.type == 'cuda' else 'cpu_time_total'
        res['profile'] = prof.key_averages().table(sort_by=by, row_limit=profile, max_name_column_width=60)
    return res

def _profiler(dev:torch.device, warmup:int, steps:int):
    "A `torch.profiler.profile` that records the `steps` batches after the first `warmup` (one `step()` per batch)."
    from torch.profiler import profile, schedule, ProfilerActivity
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if dev.type == 'cuda' else [])
    return profile(activities=acts, schedule=schedule(skip_first=warmup, wait=0, warmup=0, active=steps, repeat=1))

def _autocast(x:torch.Tensor, # a batch: autocast runs on its device
              amp_dtype:torch.dtype=None # e.g. torch.bfloat16; None: no autocast
             ):
    "A context that runs forward and loss in `amp_dtype` by `torch.autocast` on `x`'s device; with None, nothing."
    return torch.autocast(x.device.type, dtype=amp_dtype) if amp_dtype else contextlib.nullcontext()

def _plain_pretrain_step(G, L, ab, amp_dtype:torch.dtype=None):
    """One L1 step of `G` on the batch (L, ab) with pretraining's Adam, as a function of no argument that returns the loss;
    with `amp_dtype`, forward and loss under `torch.autocast` in that dtype."""
    import torch.nn.functional as F
    from colornb.pretrain import PRETRAIN_LR
    opt = torch.optim.Adam(G.parameters(), lr=PRETRAIN_LR, betas=(0.9, 0.999), eps=1e-8, weight_decay=0)
    def step():
        with _autocast(L, amp_dtype): loss = F.l1_loss(G(L), ab)
        opt.zero_grad(); loss.backward(); opt.step()
        return loss.detach()
    return step

def _plain_gan_step(G, L, ab, dev, amp_dtype:torch.dtype=None):
    """One pix2pix step (D update, then G update) on the batch (L, ab), as a function of no argument that returns the
    losses; with `amp_dtype`, the forward passes and losses under `torch.autocast` in that dtype."""
    import torch.nn.functional as F
    from colornb.discriminator import PatchDiscriminator
    from colornb.gan import gan_loss, GAN_LR, LAMBDA_L1
    D = PatchDiscriminator().to(dev).train()
    opt_G = torch.optim.Adam(G.parameters(), lr=GAN_LR, betas=(0.5, 0.999), eps=1e-8, weight_decay=0)
    opt_D = torch.optim.Adam(D.parameters(), lr=GAN_LR, betas=(0.5, 0.999), eps=1e-8, weight_decay=0)
    def step():
        with _autocast(L, amp_dtype): pred = G(L)
        D.requires_grad_(True)
        with _autocast(L, amp_dtype):
            loss_D = (gan_loss(D(torch.cat([L, ab], 1)), True) + gan_loss(D(torch.cat([L, pred.detach()], 1)), False)) / 2
        opt_D.zero_grad(); loss_D.backward(); opt_D.step()
        D.requires_grad_(False)
        with _autocast(L, amp_dtype): loss_G = gan_loss(D(torch.cat([L, pred], 1)), True) + LAMBDA_L1 * F.l1_loss(pred, ab)
        opt_G.zero_grad(); loss_G.backward(); opt_G.step()
        return torch.stack([loss_D.detach(), loss_G.detach()])
    return step

def train_plain(stage:str, data:str, size:int=256, bs:int=16, warmup:int=1, steps:int=3, device:str='auto')->dict:
    """Time per step of a plain PyTorch loop doing the same math (model, losses, optimizer settings, batch); its losses
    stay on the device and are read once, after the clock stops, as a plain loop at its fastest would."""
    from fastai.torch_core import set_seed
    from colornb.generator import build_generator
    dev = _device(device)
    set_seed(0)
    L, ab = _train_dls(data, size, bs, warmup + steps, dev).one_batch()
    L, ab = L.as_subclass(torch.Tensor), ab.as_subclass(torch.Tensor)
    torch.manual_seed(0)
    G = build_generator('resnet18', size=size, pretrained=False).to(dev).train()
    torch.backends.cudnn.benchmark = dev.type == 'cuda' # the autotuner, as colornb's learners have it on a GPU
    step = _plain_pretrain_step(G, L, ab) if stage == 'pretrain' else _plain_gan_step(G, L, ab, dev)
    if dev.type == 'cuda': torch.cuda.reset_peak_memory_stats()
    ends, losses = {}, []
    for i in range(warmup + steps):
        losses.append(step())
        if i in (warmup - 1, warmup + steps - 1): _sync(dev)
        ends[i] = time.perf_counter()
    assert torch.stack(losses).isfinite().all(), 'the plain loop\'s losses are not finite'
    return dict(s_per_batch=_window(ends, warmup, steps), gpu_peak_mb=_gpu_peak_mb(dev))

def _memory(r:dict # from `train_fastai` or `train_plain`, through `isolated`
           )->str:
    "Peak GPU memory where there is a figure, else the process's peak RSS."
    return f"peak GPU {r['gpu_peak_mb']:.0f} MB" if r['gpu_peak_mb'] else f"peak RSS {r['peak_rss_mb']:.0f} MB"

def bench_train(data:str, size:int=256, bs:int=16, warmup:int=1, steps:int=3, device:str='cpu')->list:
    "Table rows of both stages: the plain loop's images/s, and the Learner's time per batch against it."
    rows = []
    for stage, what in [('pretrain', 'L1 pretraining step'), ('gan', 'GAN step (D and G updates)')]:
        kw = dict(stage=stage, data=data, size=size, bs=bs, warmup=warmup, steps=steps, device=device)
        log(f'  train {stage}: fastai ...'); fa = isolated(train_fastai, **kw)
        log(f'  train {stage}: plain loop ...'); pl = isolated(train_plain, **kw)
        t_fa, t_pl = fa['s_per_batch'], pl['s_per_batch']
        rows += [row(f'{what}, plain PyTorch loop', bs / t_pl, 'img/s',
                     note=f"{t_pl:.3g} s/step over {steps} steps, {_memory(pl)}"),
                 row(f'{what}, colornb fastai Learner: time / plain', t_fa / t_pl, '×', baseline=t_pl,
                     ratio=t_fa / t_pl, target=1.05, higher_is_better=False,
                     note=f"{bs / t_fa:.3g} img/s, {t_fa:.3g} s/step over {steps} steps, {_memory(fa)}")]
    return rows

def measure(opts:RunOptions)->list:
    "Section 3 at the sizes of the command line, on `opts.train_device`."
    gpu = opts.train_device == 'cuda'
    warmup, steps, bs, size = (1, 1, 2, 64) if opts.quick else (3, 10, 16, 256) if gpu else (1, opts.steps, 16, 256)
    data = photo_folder(opts.tmp/'train', bs * (warmup + steps) + 1, side=size + 32)
    return bench_train(str(data), size=size, bs=bs, warmup=warmup, steps=steps, device=opts.train_device)
