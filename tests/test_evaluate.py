"""`colornb evaluate` as users run it, on a folder of photos, with a tiny untrained generator: as a process for the
full evaluation, the rest through `colornb.cli.main` in this process (`colornb_here`)."""
import csv, importlib.util, json, os, subprocess, sys, pytest, torch
from pathlib import Path
from conftest import colornb_here, colornb, color_photo

METRICS = {'psnr', 'ssim', 'ab_error', 'ab_auc', 'colorfulness', 'original_colorfulness', 'delta_colorfulness'}

@pytest.fixture(scope='module')
def generator(tmp_path_factory):
    from colornb.generator import build_generator
    from colornb.checkpoint import save_generator
    torch.manual_seed(0)
    return save_generator(build_generator('resnet18', size=64, pretrained=False), tmp_path_factory.mktemp('model')/'generator.pt')

@pytest.fixture
def photo_folder(tmp_path):
    "Four small colour photos, one in a subfolder, and a broken file."
    (tmp_path/'photos'/'sub').mkdir(parents=True)
    for i, name in enumerate(['a.jpg', 'b.png', 'c.webp', 'sub/d.jpg']): color_photo(tmp_path/'photos'/name, size=(96 + 8*i, 64), seed=i)
    (tmp_path/'photos'/'broken.jpg').write_bytes(b'\xff\xd8\xff\xe0 not a jpeg')
    return tmp_path/'photos'

def test_evaluate_writes_the_table_and_its_files(photo_folder, generator, tmp_path):
    torch_home = tmp_path/'torch' # an empty torch hub cache: the FID and LPIPS weights are missing whatever this machine has
    r = colornb('evaluate', '--data', photo_folder, '--checkpoint', generator, '--size', '64', '--out', tmp_path/'eval', env=dict(TORCH_HOME=str(torch_home)))
    assert r.returncode == 0, r.stderr
    assert 'Traceback' not in r.stderr
    assert sum(l.startswith(f"colornb evaluate: Skipped {photo_folder/'broken.jpg'}: ") for l in r.stderr.splitlines()) == 1
    assert any('mean colour of the evaluated photos' in l for l in r.stderr.splitlines())
    table = [l for l in r.stdout.splitlines() if l.startswith('| ')]
    assert table[0].startswith('| method | psnr ↑ | ssim ↑ | ab_error ↓ | ab_auc ↑')
    assert [l.split(' | ')[0] for l in table[1:]] == ['| model', '| gray', '| mean-color']
    if importlib.util.find_spec('torchmetrics') and importlib.util.find_spec('torch_fidelity'): # the dev extra installs both
        hub = torch_home/'hub'/'checkpoints'
        assert f'FID skipped: FID Inception weights not found at {hub}/weights-inception-2015-12-05-6726825d.pth; colornb does not download them (no network use), put the file there' in r.stdout.splitlines()
        assert any(l.startswith(f'LPIPS skipped: LPIPS AlexNet weights not found at {hub}/alexnet-') for l in r.stdout.splitlines()), r.stdout
    else:
        assert 'FID skipped: torchmetrics not installed (pip install "colornb[metrics]")' in r.stdout.splitlines()
        assert 'LPIPS skipped: torchmetrics not installed (pip install "colornb[metrics]")' in r.stdout.splitlines()
    js = json.loads((tmp_path/'eval'/'metrics.json').read_text())
    assert set(js) >= {'checkpoint', 'data', 'size', 'max_side', 'summary', 'rows', 'skipped_metrics', 'skipped_photos', 'n_photos', 'mean_ab', 'mean_ab_source'}
    assert js['n_photos'] == 4
    assert js['size'] == 64
    assert len(js['rows']) == 12
    assert len(js['skipped_photos']) == 1
    assert list(js['summary']) == ['model', 'gray', 'mean-color']
    assert all(set(v) >= METRICS for v in js['summary'].values())
    assert js['summary']['gray']['colorfulness'] < 0.5 < js['summary']['gray']['delta_colorfulness']
    assert {row['photo'] for row in js['rows']} == {'a.jpg', 'b.png', 'c.webp', 'sub/d.jpg'}
    rows = list(csv.DictReader(open(tmp_path/'eval'/'metrics.csv')))
    assert len(rows) == 15
    assert rows[-1]['photo'] == 'all photos'
    assert rows[-1]['method'] == 'mean-color'
    assert (tmp_path/'eval'/'best_worst.png').stat().st_size > 1000

# `colornb evaluate` twice in one process: first with both packages hidden, then torch-fidelity alone, so that
# torchmetrics is imported (if installed) only after the first run
HIDE_AND_EVALUATE = """import sys
from colornb.cli import main
for hidden in sys.argv.pop(1).split(';'):
    for m in ('torchmetrics', 'torch_fidelity'):
        if m in hidden.split(','): sys.modules[m] = None
        elif sys.modules.get(m, 0) is None: del sys.modules[m]
    print(f'== hidden: {hidden}', flush=True)
    print(f'== exit status: {main(sys.argv[1:])}', flush=True)
"""

def test_metrics_say_when_their_package_is_missing(photo_folder, generator, tmp_path):
    "Without torchmetrics (hidden here, whether or not it is installed) FID and LPIPS are skipped with how to install it; without torch-fidelity, FID alone."
    args = ['evaluate', '--data', photo_folder, '--checkpoint', generator, '--size', '64', '--out', tmp_path/'eval']
    cases = [('torchmetrics,torch_fidelity', 'torchmetrics', 'torchmetrics'), # (hidden, FID's missing package, LPIPS's)
             ('torch_fidelity', 'torch-fidelity', None)]
    r = subprocess.run([sys.executable, '-c', HIDE_AND_EVALUATE, ';'.join(c[0] for c in cases), *map(str, args)],
                       capture_output=True, text=True, env=dict(os.environ, TORCH_HOME=str(tmp_path/'torch')))
    assert r.returncode == 0, r.stderr
    runs = r.stdout.split('== hidden: ')[1:]
    assert len(runs) == len(cases), r.stdout
    for (hidden, fid, lpips), out in zip(cases, runs):
        lines = out.splitlines()
        assert lines[0] == hidden, out
        assert lines[-1] == '== exit status: 0', out
        assert f'FID skipped: {fid} not installed (pip install "colornb[metrics]")' in lines, out
        lpips_line = f'LPIPS skipped: {lpips} not installed (pip install "colornb[metrics]")'
        assert (lpips_line in lines) == (lpips is not None), out

def test_the_mean_color_comes_from_the_checkpoint(trained, tmp_path):
    "A trained checkpoint records its training photos' mean colour: the mean-colour baseline uses it, with no warning."
    data, run, _ = trained
    for ckpt in ('generator.pt', 'model.pt'):
        r = colornb_here('evaluate', '--data', data, '--checkpoint', run/ckpt, '--size', '64', '--max-side', '128', '--out', tmp_path/ckpt)
        assert r.returncode == 0, r.stderr
        mean_ab = torch.load(run/ckpt, weights_only=True)['meta']['mean_ab']
        js = json.loads((tmp_path/ckpt/'metrics.json').read_text())
        assert js['mean_ab_source'] == 'checkpoint metadata'
        assert js['mean_ab'] == [round(v, 4) for v in mean_ab]
        assert 'mean colour of the evaluated photos' not in r.stderr
        assert '(source: checkpoint metadata)' in r.stdout

def test_holdout_measures_exactly_the_photos_training_left_out(generator, tmp_path):
    "`colornb evaluate --holdout 0.1` measures the tenth that `colornb train --holdout 0.1` never sees."
    from colornb.data import find_photos
    from colornb.images import SAMPLES_PATH
    r = colornb_here('evaluate', '--data', SAMPLES_PATH, '--checkpoint', generator, '--size', '64', '--holdout', '0.1',
                '--out', tmp_path/'eval')
    assert r.returncode == 0, r.stderr
    assert any(l.startswith(f'2 photos from {SAMPLES_PATH} (the held-out 10%), colorized at size 64')
               for l in r.stdout.splitlines()), r.stdout
    js = json.loads((tmp_path/'eval'/'metrics.json').read_text())
    assert (js['data'], js['holdout']) == (str(SAMPLES_PATH), 0.1) # what it was measured on, not "2 files"
    rows = js['rows']
    held_out = find_photos(SAMPLES_PATH, holdout=0.1, held_out=True)
    assert {row['photo'] for row in rows} == {str(f.relative_to(SAMPLES_PATH)) for f in held_out} # named within --data
    assert not set(held_out) & set(find_photos(SAMPLES_PATH, holdout=0.1)) # what training reads

def test_missing_folder_and_missing_model_are_one_line(generator, tmp_path):
    r = colornb_here('evaluate', '--data', tmp_path/'missing', '--checkpoint', generator)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines()[-1] == f"colornb evaluate: error: Image source {tmp_path/'missing'} does not exist"
    color_photo(tmp_path/'one.jpg')
    from unittest import mock
    with mock.patch('colornb.checkpoint.SHIPPED_GENERATOR', tmp_path/'no-model.pt'): # a colornb without its model
        r = colornb_here('evaluate', '--data', tmp_path, env={'COLORNB_CHECKPOINT': ''})
    assert r.returncode == 1
    assert r.stderr.startswith('colornb evaluate: error: no generator to use: this installation of colornb lacks its shipped model')
    assert 'Traceback' not in r.stderr

def test_fid_and_lpips_with_stand_in_weights(tmp_path, monkeypatch):
    "The torchmetrics path, where torchmetrics is installed: random weights placed in a temporary torch hub cache, as the real ones would be."
    pytest.importorskip('torchmetrics'); fi = pytest.importorskip('torch_fidelity.feature_extractor_inceptionv3')
    import torchvision
    from unittest import mock
    from colornb.evaluate import evaluate_folder
    from colornb.metrics import metric_weights, skip_reason
    from colornb.generator import build_generator
    hub = torch.hub.get_dir()
    try:
        torch.hub.set_dir(str(tmp_path/'hub'))
        assert skip_reason('fid').startswith('FID Inception weights not found at ' + str(tmp_path/'hub'/'checkpoints'))
        metric_weights('fid').parent.mkdir(parents=True)
        torch.save(torchvision.models.alexnet(weights=None).state_dict(), metric_weights('lpips'))
        with mock.patch.object(fi.FeatureExtractorInceptionV3, 'load_state_dict', lambda self, sd: None), \
             mock.patch.object(fi, 'load_state_dict_from_url', lambda *a, **k: None):
            torch.save(fi.FeatureExtractorInceptionV3('inception-v3-compat', ['2048']).state_dict(), metric_weights('fid'))
        assert skip_reason('fid') is None
        assert skip_reason('lpips') is None
        for i in range(3): color_photo(tmp_path/f'{i}.png', seed=i)
        res = evaluate_folder(tmp_path, build_generator(size=64, pretrained=False), size=64, rank_by='lpips', progress=False)
        assert res['skipped_metrics'] == {}
        assert all({'fid', 'lpips'} <= set(s) for s in res['summary'].values())
    finally: torch.hub.set_dir(hub)
