"""Train a tiny colornb generator (stage 1) and GAN (stage 2) for a few steps and save the weights and the batches seen.

    torchrun --nproc_per_node 2 tests/ddp_worker.py ddp DATA OUT     # two processes, DDP through fastai + accelerate (gloo on a CPU)
    python tests/ddp_worker.py reference DATA OUT                    # one process, the same global batches

The data trees (made by tests/test_distributed.py) hold the same photos in an order such that the reference's batch k
is rank 0's batch k followed by rank 1's. Without SyncBatchNorm each GPU normalises its own half of the global batch,
so the reference runs G and D on each half separately (`Shardwise`) and averages the losses: the math DDP does.
"""
import sys, torch
from pathlib import Path
from fastai.callback.core import Callback
from fastai.torch_core import set_seed, rank_distrib, num_distrib
from colornb.data import colorization_dls
from colornb.generator import build_generator
from colornb.discriminator import PatchDiscriminator
from colornb.pretrain import pretrain_learner
from colornb.training import distributed_ctx, end_distributed
from colornb.gan import gan_learner

PER_RANK_BS, WORLD = 4, 2

class Shardwise(torch.nn.Module):
    "Run `m` on each of `n` equal parts of the batch alone: what BatchNorm sees on each of `n` GPUs under DDP."
    def __init__(self, m, n): super().__init__(); self.m, self.n = m, n
    def forward(self, x): return torch.cat([self.m(part) for part in x.chunk(self.n)])

class RecordBatches(Callback):
    "Keep every training batch's L."
    def __init__(self): self.seen = []
    def before_batch(self):
        if self.training: self.seen.append(self.xb[0].detach().as_subclass(torch.Tensor).clone())

def main(mode, data, out):
    torch.set_num_threads(1) # as torchrun sets for each process, so both runs sum in the same order
    ddp = mode == 'ddp'
    assert ddp == (num_distrib() == WORLD), f"{mode} run with {num_distrib()} processes"
    dls = colorization_dls(Path(data)/mode, size=64, bs=PER_RANK_BS if ddp else PER_RANK_BS * WORLD, shuffle=False, num_workers=0)
    wrap = (lambda m: m) if ddp else (lambda m: Shardwise(m, WORLD))
    set_seed(0); G = build_generator("resnet18", size=64, pretrained=False)
    torch.manual_seed(1); D = PatchDiscriminator()
    rec1, rec2 = RecordBatches(), RecordBatches()
    learn = pretrain_learner(dls, G=wrap(G), lr=1e-3, cbs=rec1)
    with distributed_ctx(learn): learn.fit(2, 1e-3)
    learn = gan_learner(dls, generator=wrap(G), D=wrap(D), lr=1e-3, cbs=[rec2])
    with distributed_ctx(learn): learn.fit(1, 1e-3)
    torch.save(dict(G={k: v.detach().clone() for k, v in G.named_parameters()}, D={k: v.detach().clone() for k, v in D.named_parameters()},
                    batches=rec1.seen + rec2.seen, d_losses=learn.conditional_gan.history['d_real']),
               Path(out)/f"{mode}{rank_distrib() if ddp else ''}.pt")
    end_distributed()

if __name__ == '__main__': main(*sys.argv[1:4])
