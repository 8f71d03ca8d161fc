"""Section 3, training steps: colornb's fastai `Learner` against a plain PyTorch loop doing the same math.

Both stages, at 256 px and batch 16: stage 1 (L1) and stage 2 (D and G updates). Measured is the time per training
batch, callbacks, progress bar and recorder included, validation not. Target: ≤ 1.05× the plain loop's time.
Each measurement runs in a fresh process (`isolated`), so that its peak RSS is its own.
"""
import time
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

def train_fastai(stage:str, # 'pretrain' (L1) or 'gan'
                 data:str, # a folder of at least bs * (warmup + steps) + 1 photos
                 size:int=256, bs:int=16,
                 warmup:int=1, # untimed batches first
                 steps:int=3, # timed batches
                 device:str='auto', precision:str='fp32', channels_last:bool=False
                )->dict: # 'times' of the timed batches in s, 'gpu_peak_mb'
    "Per-batch times of colornb's Learner (its callbacks, progress bar and recorder included; validation skipped)."
    from fastai.callback.core import Callback, CancelValidException
    from fastai.torch_core import set_seed
    from colornb.generator import build_generator
    from colornb.discriminator import PatchDiscriminator
    from colornb.pretrain import pretrain_learner
    from colornb.gan import gan_learner
    from colornb.training import set_precision, fewer_host_reads
    dev = _device(device)
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
    fewer_host_reads(learn, 50 if dev.type == 'cuda' else 1) # as `colornb train` does (`loss_every`)
    if dev.type == 'cuda': torch.cuda.reset_peak_memory_stats()
    learn.fit(1, lr=learn.lr)
    return dict(times=times[warmup:], gpu_peak_mb=_gpu_peak_mb(dev))

def _plain_pretrain_step(G, L, ab):
    "One L1 step of `G` on the batch (L, ab) with pretraining's Adam, as a function of no argument."
    import torch.nn.functional as F
    from colornb.pretrain import PRETRAIN_LR
    opt = torch.optim.Adam(G.parameters(), lr=PRETRAIN_LR, betas=(0.9, 0.999), eps=1e-8, weight_decay=0)
    def step():
        loss = F.l1_loss(G(L), ab)
        opt.zero_grad(); loss.backward(); opt.step()
        return loss.item()
    return step

def _plain_gan_step(G, L, ab, dev):
    "One pix2pix step (D update, then G update) on the batch (L, ab), as a function of no argument."
    import torch.nn.functional as F
    from colornb.discriminator import PatchDiscriminator
    from colornb.gan import gan_loss, GAN_LR, LAMBDA_L1
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
    return step

def train_plain(stage:str, data:str, size:int=256, bs:int=16, warmup:int=1, steps:int=3, device:str='auto')->dict:
    "Per-step times of a plain PyTorch loop doing the same math: same model, losses, optimizer settings and batch."
    from fastai.torch_core import set_seed
    from colornb.generator import build_generator
    dev = _device(device)
    set_seed(0)
    L, ab = _train_dls(data, size, bs, warmup + steps, dev).one_batch()
    L, ab = L.as_subclass(torch.Tensor), ab.as_subclass(torch.Tensor)
    torch.manual_seed(0)
    G = build_generator('resnet18', size=size, pretrained=False).to(dev).train()
    step = _plain_pretrain_step(G, L, ab) if stage == 'pretrain' else _plain_gan_step(G, L, ab, dev)
    if dev.type == 'cuda': torch.cuda.reset_peak_memory_stats()
    times = []
    for i in range(warmup + steps):
        _sync(dev); t = time.perf_counter(); step(); _sync(dev); times.append(time.perf_counter() - t)
    return dict(times=times[warmup:], gpu_peak_mb=_gpu_peak_mb(dev))

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
        t_fa, t_pl = min(fa['times']), min(pl['times'])
        rows += [row(f'{what}, plain PyTorch loop', bs / t_pl, 'img/s',
                     note=f"{t_pl:.3g} s/step, {_memory(pl)}; steps {[round(t, 3) for t in pl['times']]}"),
                 row(f'{what}, colornb fastai Learner: time / plain', t_fa / t_pl, '×', baseline=t_pl,
                     ratio=t_fa / t_pl, target=1.05, higher_is_better=False,
                     note=f"{bs / t_fa:.3g} img/s, {t_fa:.3g} s/step, {_memory(fa)}; "
                          f"steps {[round(t, 3) for t in fa['times']]}")]
    return rows

def measure(opts:RunOptions)->list:
    "Section 3 at the sizes of the command line, on `opts.train_device`."
    gpu = opts.train_device == 'cuda'
    warmup, steps, bs, size = (1, 1, 2, 64) if opts.quick else (3, 10, 16, 256) if gpu else (1, opts.steps, 16, 256)
    data = photo_folder(opts.tmp/'train', bs * (warmup + steps) + 1, side=size + 32)
    return bench_train(str(data), size=size, bs=bs, warmup=warmup, steps=steps, device=opts.train_device)
