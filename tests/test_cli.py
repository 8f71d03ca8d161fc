"""The `colornb` command line as users run it, on folders of photos: as a process for the shared training run
(`trained`), the rest through `colornb.cli.main` in this process (`colornb_here`: the same exit status and output,
without a new process's seconds of imports)."""
import os, subprocess, sys, torch, pytest
from unittest import mock
from pathlib import Path
from conftest import colornb, colornb_here, TINY

def test_train_writes_every_file(trained):
    data, out, r = trained
    for name in ['generator_pretrained.pt', 'model.pt', 'generator.pt', 'losses.png', 'pretrain_log.csv', 'gan_log.csv']: assert (out/name).is_file(), name
    samples = sorted(p.name for p in (out/'samples').glob('*.png'))
    assert 'pretrain_epoch001_end.png' in samples
    assert 'gan_epoch001_end.png' in samples
    assert 'gan_epoch001_batch000001.png' in samples
    for pt in out.glob('*.pt'): torch.load(pt, weights_only=True)
    assert str(out.resolve()) in r.stdout
    assert 'generator.pt' in r.stdout
    assert f"colornb colorize --checkpoint {(out/'generator.pt').resolve()} PHOTOS --out DIR" in r.stdout # what it made, by name

def test_checkpoints_record_what_they_hold(trained):
    _, out, _ = trained
    pre, model, gen = (torch.load(out/f, weights_only=True) for f in ('generator_pretrained.pt', 'model.pt', 'generator.pt'))
    assert pre['meta']['stage'] == 'pretrain'
    assert pre['meta']['epochs'] == 1
    assert pre['meta']['arch'] == 'resnet18'
    assert pre['meta']['size'] == 64
    assert model['stage'] == 'gan'
    assert model['epoch'] == 1
    assert set(model) >= {'G', 'D', 'opt_G', 'opt_D', 'history', 'config', 'meta'}
    assert len(model['history']['pretrain']['l1']) == 2
    assert len(model['history']['gan']['d_real']) == 2   # 8 training photos, batch 4
    assert gen['meta']['valid_l1'] > 0
    assert gen['meta']['lab_norm'] == {'L_scale': 50.0, 'L_shift': -1.0, 'ab_scale': 110.0}

def test_nan_loss_stops_with_the_step_and_no_checkpoint(trained, tmp_path):
    data, _, _ = trained
    r = colornb_here('train', '--data', data, '--pretrain-epochs', '2', '--gan-epochs', '1', '--out', tmp_path, '--lr-pretrain', '1e30', *TINY)
    assert r.returncode == 1
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith('colornb train: error: pretrain loss became nan at epoch 1, batch 2 (step 2)'), last
    assert 'no checkpoint had been written yet' in last
    assert 'Traceback' not in r.stderr
    assert not list(tmp_path.glob('*.pt'))

def test_bad_input_is_one_line(tmp_path):
    r = colornb_here('train', '--data', tmp_path/'missing', *TINY, home=tmp_path/'home') # not the user's ~/.colornb
    assert r.returncode == 1
    assert r.stderr.strip().splitlines()[-1] == f"colornb train: error: Image source {tmp_path/'missing'} does not exist"
    (tmp_path/'not_a_model.pt').write_bytes(b'garbage')
    r = colornb_here('train', '--data', tmp_path, '--resume', tmp_path/'not_a_model.pt', *TINY, home=tmp_path/'home')
    assert r.returncode == 1
    assert 'not_a_model.pt' in r.stderr
    assert 'Traceback' not in r.stderr

def test_every_subcommand_has_help(capsys):
    from colornb.cli import main
    helps = {}
    with pytest.raises(SystemExit) as e: main(['--help'])
    assert e.value.code == 0
    assert 'usage: colornb' in capsys.readouterr().out
    for sub in ('train', 'prepare', 'colorize', 'evaluate', 'demo', 'app', 'export'): # each one's help, in this process
        with pytest.raises(SystemExit) as e: main([sub, '--help'])
        helps[sub] = capsys.readouterr().out
        assert e.value.code == 0, sub
        assert f'usage: colornb {sub}' in helps[sub], sub
        assert 'None' not in helps[sub], (sub, helps[sub])                  # a value the command line cannot take
    assert '--train-data' in helps['evaluate']

def test_colorize_keeps_a_12_megapixel_photo_whole(trained, tmp_path):
    import numpy as np
    from PIL import Image
    _, run, _ = trained
    y, x = np.mgrid[0:3000, 0:4000]
    big = np.stack([(x // 16) % 256, (y // 12) % 256, ((x + y) // 28) % 256], -1).astype(np.uint8)
    Image.fromarray(big).convert('L').save(tmp_path/'old photo.jpg', quality=90)
    r = colornb_here('colorize', tmp_path/'old photo.jpg', '--out', tmp_path/'out', '--checkpoint', run/'generator.pt')
    assert r.returncode == 0, r.stderr
    out = Image.open(tmp_path/'out'/'old photo.png')
    assert out.size == (4000, 3000)
    assert out.mode == 'RGB'
    a = np.asarray(out.reduce(8)).astype(int)
    assert (a.max(-1) - a.min(-1)).mean() > 1   # colour that was not in the grayscale input
    # in bfloat16: the same picture within a few levels
    r = colornb_here('colorize', tmp_path/'old photo.jpg', '--out', tmp_path/'bf16', '--checkpoint', run/'generator.pt', '--precision', 'bf16')
    assert r.returncode == 0, r.stderr
    b = np.asarray(Image.open(tmp_path/'bf16'/'old photo.png').reduce(8)).astype(int)
    assert np.abs(a - b).mean() < 2, np.abs(a - b).mean()

def test_colorize_a_mixed_folder_with_the_generator_of_colornb_checkpoint(trained, tmp_path):
    """Without --checkpoint: $COLORNB_CHECKPOINT's generator, said in one line, else the shipped model (a colornb
    without it says so), never a generator that training left under COLORNB_HOME. A folder's broken files are listed
    on stderr, the others colorized, and the exit status is 1."""
    import shutil
    data, run, _ = trained
    (tmp_path/'home'/'train').mkdir(parents=True) # a trained generator where `colornb train` writes by default
    shutil.copy(run/'generator.pt', tmp_path/'home'/'train'/'generator.pt')
    with mock.patch('colornb.checkpoint.SHIPPED_GENERATOR', tmp_path/'no-model.pt'):
        r = colornb_here('colorize', data/'0.jpg', '--out', tmp_path/'out', home=tmp_path/'home', env={'COLORNB_CHECKPOINT': ''})
    assert r.returncode == 1
    assert f"lacks its shipped model ({tmp_path/'no-model.pt'}); pass --checkpoint PT" in r.stderr
    assert not (tmp_path/'out').exists()
    data = tmp_path/'mixed'; data.mkdir()
    from conftest import color_photo
    color_photo(data/'good.jpg'); color_photo(data/'also good.png', seed=3)
    (data/'broken.jpg').write_bytes(b'\xff\xd8\xff\xe0 definitely not a jpeg')
    (data/'truncated.png').write_bytes((data/'also good.png').read_bytes()[:200])
    r = colornb_here('colorize', data, '--out', tmp_path/'out', env={'COLORNB_CHECKPOINT': str(run/'generator.pt')})
    assert r.returncode == 1
    assert sorted(p.name for p in (tmp_path/'out').iterdir()) == ['also good.png', 'good.png']
    errors = [l for l in r.stderr.splitlines() if l.startswith('colornb colorize: Cannot read')]
    assert len(errors) == 2
    assert any('broken.jpg' in l for l in errors)
    assert any('truncated.png' in l for l in errors)
    assert 'Colorized 2 of 4 images' in r.stderr
    assert f"colornb colorize: using {run/'generator.pt'}, from $COLORNB_CHECKPOINT" in r.stderr
    assert 'Traceback' not in r.stderr
    assert sorted(r.stdout.splitlines()) == [str(tmp_path/'out'/n) for n in ('also good.png', 'good.png')] # no progress bar in it

def test_colorize_works_out_of_the_box(tmp_path):
    """The command, as a process, as a user runs it right after `pip install`: a sample photo colorized by the model
    shipped in the package, with no training and no --checkpoint, said in one line; nothing written outside --out."""
    from PIL import Image
    from colornb.images import SAMPLES_PATH, image_tensor
    from colornb.metrics import colorfulness
    photo = SAMPLES_PATH/'skimage_coffee.jpg'
    r = colornb('colorize', photo, '--out', tmp_path/'out', home=tmp_path/'home', env={'COLORNB_CHECKPOINT': ''})
    assert r.returncode == 0, r.stderr
    assert r.stderr.startswith('colornb colorize: using the model shipped with colornb'), r.stderr
    assert r.stdout.split() == [str(tmp_path/'out'/'skimage_coffee.png')]
    out = Image.open(tmp_path/'out'/'skimage_coffee.png')
    assert out.size == Image.open(photo).size
    assert colorfulness(image_tensor(out)).item() > 10 # colour, not a gray or sepia copy (the original: 40)
    assert not (tmp_path/'home').exists()

def test_usage_errors_exit_2(tmp_path, capsys):
    from colornb.cli import main
    for args in (['colorize', str(tmp_path)], ['colorize', '--out', str(tmp_path)], # no --out; no input
                 ['train', '--arch', 'vgg']): # no --data, unknown arch
        with pytest.raises(SystemExit) as e: main(args)
        assert e.value.code == 2, args
        assert 'usage: colornb' in capsys.readouterr().err
    photo = ['colorize', 'x.jpg', '--out', str(tmp_path)]
    for args, msg in [(photo + ['--bs', '-1'], 'argument --bs: must be 1 or more, not -1'),
                      (photo + ['--size', '100000'], 'argument --size: must be from 32 to 2048, not 100000'),
                      (photo + ['--workers', '-1'], 'argument --workers: must be 0 or more, not -1'),
                      (photo + ['--smooth', '1'], 'argument --smooth: must be from 0 up to but not including 1, not 1'),
                      (['train', '--data', 'd', '--size', '0'], 'argument --size: must be from 32 to 2048, not 0'),
                      (['train', '--data', 'd', '--gan-epochs', '-1'], 'argument --gan-epochs: must be 0 or more'),
                      (['train', '--data', 'd', '--valid-pct', '0'], 'argument --valid-pct: must be from 0.01 to 0.5, not 0'),
                      (['prepare', '--data', 'd', '--out', 'p.npy', '--n-images', '-3'], 'argument --n-images: must be 1'),
                      (['app', '--port', '99999'], 'argument --port: must be from 1 to 65535, not 99999')]:
        with pytest.raises(SystemExit) as e: main(args)
        assert e.value.code == 2, args
        assert msg in capsys.readouterr().err, args
    assert main(['train', '--data', 'd', '--pretrain-epochs', '0', '--gan-epochs', '0']) == 1 # nothing written
    assert capsys.readouterr().err == 'colornb train: error: Nothing to train: --pretrain-epochs and --gan-epochs are both 0\n'
    (tmp_path/'run').mkdir(); (tmp_path/'run'/'model.pt').write_bytes(b'an earlier run of hours')
    assert main(['train', '--data', 'd', '--out', str(tmp_path/'run')]) == 1 # refused before any photo is read
    assert 'already holds a training run (model.pt): continue it with --resume' in capsys.readouterr().err
    assert (tmp_path/'run'/'model.pt').read_bytes() == b'an earlier run of hours'

def test_demo_writes_its_results_and_says_where(tmp_path):
    "The command's files and messages; the shipped model's column is 14_demo's to test (left out here: seconds)."
    with mock.patch('colornb.demo.SHIPPED_GENERATOR', tmp_path/'no-model.pt'):
        r = colornb_here('demo', '--out', tmp_path/'demo', '--size', '48', '--pretrain-epochs', '1', '--gan-epochs', '1')
    assert r.returncode == 0, r.stderr
    for name in ['comparison.png', 'metrics.md', 'metrics.csv', 'train/generator.pt', 'train/losses.png']: assert (tmp_path/'demo'/name).exists(), name
    assert len(list((tmp_path/'demo'/'before_after').glob('*.png'))) == 4
    assert len(list((tmp_path/'demo'/'colorized').glob('*.png'))) == 4
    assert str((tmp_path/'demo').resolve()) in r.stdout
    assert '| mean | demo model |' in r.stdout
    assert f"colornb colorize --checkpoint {(tmp_path/'demo'/'train'/'generator.pt').resolve()} PHOTOS" in r.stdout

def test_stage_one_alone_then_stage_two_elsewhere(trained, tmp_path):
    data, _, _ = trained
    r = colornb_here('train', '--data', data, '--pretrain-epochs', '1', '--gan-epochs', '0', '--out', tmp_path/'a', *TINY)
    assert r.returncode == 0, r.stderr
    assert torch.load(tmp_path/'a'/'model.pt', weights_only=True)['stage'] == 'pretrain'
    assert torch.load(tmp_path/'a'/'generator.pt', weights_only=True)['meta']['stage'] == 'pretrain' # no GAN stage: stage 1's is final
    r = colornb_here('train', '--data', data, '--pretrain-epochs', '1', '--gan-epochs', '1', '--out', tmp_path/'b', '--resume', tmp_path/'a'/'model.pt', *TINY)
    assert r.returncode == 0, r.stderr
    model = torch.load(tmp_path/'b'/'model.pt', weights_only=True)
    assert (model['stage'], model['epoch']) == ('gan', 1)
    assert len(model['history']['pretrain']['l1']) == 2

def test_prepare_then_train_from_the_prepared_file(tmp_path):
    "`colornb prepare` decodes the photos once; `colornb train --data FILE.npy` trains from the file."
    import numpy as np
    from conftest import color_photo
    data = tmp_path/'photos'; data.mkdir()
    for i in range(10): color_photo(data/f'{i}.jpg', size=(80 + 4*i, 72), seed=i)
    npy = tmp_path/'photos.npy'
    r = colornb_here('prepare', '--data', data, '--out', npy, '--size', '64')
    assert r.returncode == 0, r.stderr
    assert f'Prepared 10 photos of {data} as 72×72 squares in {npy}' in r.stdout
    assert np.load(npy, mmap_mode='r').shape == (10, 72, 72, 3)
    r = colornb_here('train', '--data', npy, '--pretrain-epochs', '1', '--gan-epochs', '0', '--out', tmp_path/'run', *TINY)
    assert r.returncode == 0, r.stderr
    model = torch.load(tmp_path/'run'/'model.pt', weights_only=True)
    assert (model['stage'], model['epoch'], model['config']['data']) == ('pretrain', 1, str(npy))
    assert len(model['history']['pretrain']['l1']) == 2   # 8 training photos, batch 4
    # a held-out share asked for at training time, and a file that is not .npy, are one-line errors (02_data tests them)
