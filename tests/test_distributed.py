"Two CPU processes with the gloo backend train colornb like one process does: fastai's DDP (through accelerate) under torchrun."
import os, shutil, socket, subprocess, sys, numpy as np, pytest, torch
from pathlib import Path
from PIL import Image
from conftest import REPO, TINY, color_photo

def free_port():
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def torchrun(*args, n=2):
    "Run `args` in `n` processes under torchrun, on this machine's CPUs."
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', str(n), '--master_addr', '127.0.0.1', '--master_port', str(free_port()), *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=dict(os.environ, CUDA_VISIBLE_DEVICES=''))

def mirrored_photo(path, seed):
    "A 64×64 colour photo that equals its mirror image, so that fastai's random flip leaves it unchanged."
    rng = np.random.default_rng(seed)
    half = np.kron(rng.integers(20, 235, (8, 4, 3)), np.ones((8, 8, 1))) + rng.normal(0, 8, (64, 32, 3))
    Image.fromarray(np.concatenate([half, half[:, ::-1]], 1).astype(np.uint8)).save(path)

def make_trees(root, n_train=16, per_rank=4, world=2):
    "The same photos as `ddp/` (sorted: rank r gets the r-th part) and `reference/` (sorted: global batch k = every rank's batch k)."
    for tree in ('ddp', 'reference'):
        for part in ('train', 'val'): (root/tree/part).mkdir(parents=True)
    per_shard = n_train // world
    for i in range(n_train):
        rank, j = divmod(i, per_shard)
        k, pos = divmod(j, per_rank) # rank `rank`'s batch k, position pos
        mirrored_photo(root/'ddp'/'train'/f'{i:02d}.png', seed=i)
        shutil.copy(root/'ddp'/'train'/f'{i:02d}.png', root/'reference'/'train'/f'{k:02d}-{rank}-{pos}.png')
    for i in range(2):
        for tree in ('ddp', 'reference'): mirrored_photo(root/tree/'val'/f'{i}.png', seed=100 + i)

def test_two_processes_train_like_one(tmp_path):
    make_trees(tmp_path)
    worker = REPO/'tests'/'ddp_worker.py'
    r = torchrun(worker, 'ddp', tmp_path, tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    r = subprocess.run([sys.executable, worker, 'reference', tmp_path, tmp_path], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    rank0, rank1, ref = (torch.load(tmp_path/f, weights_only=True) for f in ('ddp0.pt', 'ddp1.pt', 'reference.pt'))
    # each rank saw its own half of every global batch: together exactly the reference's batches
    assert len(rank0['batches']) == len(ref['batches']) == 2 * 2 + 2
    for b0, b1, b in zip(rank0['batches'], rank1['batches'], ref['batches']):
        assert not torch.equal(b0, b1)
        assert torch.equal(torch.cat([b0, b1]), b)
    from fastai.torch_core import set_seed
    from colornb.generator import build_generator
    from colornb.discriminator import PatchDiscriminator
    set_seed(0); G0 = dict(build_generator('resnet18', size=64, pretrained=False).named_parameters())
    torch.manual_seed(1); D0 = dict(PatchDiscriminator().named_parameters())
    flat = lambda d, keys: torch.cat([d[k].detach().flatten() for k in keys])
    for net, init in (('G', G0), ('D', D0)):
        keys = list(init)
        w0, w1, wref = flat(rank0[net], keys), flat(rank1[net], keys), flat(ref[net], keys)
        assert torch.equal(w0, w1), f"{net}: the ranks' weights differ"
        moved, off = (w0 - flat(init, keys)).norm(), (w0 - wref).norm()
        print(f"{net}: |DDP - one process| / |training update| = {off / moved:.2e}; largest element difference {(w0 - wref).abs().max():.1e}")
        assert moved > 0.1
        assert off / moved < 0.02
        # Adam's first steps move each weight by about ±lr whatever the gradient's size, so a weight whose gradient is
        # float noise can go either way: 6 steps at lr 1e-3 bound any single difference
        assert (w0 - wref).abs().max() < 6 * 2 * 1e-3

def test_colornb_train_under_torchrun(tmp_path):
    data, out = tmp_path/'photos', tmp_path/'run'
    data.mkdir()
    for i in range(10): color_photo(data/f'{i}.jpg', size=(80 + 4*i, 72), seed=i)
    r = torchrun('-m', 'colornb', 'train', '--data', data, '--out', out, '--pretrain-epochs', '1', '--gan-epochs', '1',
                 *TINY, '--preview-every', '1') # rank 0 alone draws a preview after every batch, between steps
    assert r.returncode == 0, r.stderr[-3000:]
    for f in ('generator_pretrained.pt', 'model.pt', 'generator.pt', 'losses.png', 'pretrain_log.csv', 'gan_log.csv'): assert (out/f).exists(), f
    assert r.stdout.count('Training finished') == 1 # rank 0 reports; rank 1 stays quiet
    for log in ('pretrain_log.csv', 'gan_log.csv'): assert len((out/log).read_text().splitlines()) == 2 # header + one epoch, written once
    state = torch.load(out/'model.pt', weights_only=True)
    assert (state['stage'], state['epoch']) == ('gan', 1)
    assert not any(k.startswith('module.') for k in state['G'])
    assert not any(k.startswith('module.') for k in state['D'])
    # the mean colour is recorded under torchrun too (each rank's sum over its share, all-reduced), near that of the whole photos
    from colornb.data import mean_color
    assert torch.load(out/'generator.pt', weights_only=True)['meta']['mean_ab'] == state['meta']['mean_ab']
    assert torch.allclose(torch.tensor(state['meta']['mean_ab']), mean_color(data), atol=3)
