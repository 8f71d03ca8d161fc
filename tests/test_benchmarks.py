"The benchmark script: `--quick` runs every CPU section at tiny sizes and writes JSON with the machine and every row."
import json, math, os, subprocess, sys
from pathlib import Path
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO/'benchmarks'))
import harness
from bench_infer import infer_photo

def bench(*args, out):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, str(REPO/'benchmarks'/'run.py'), *args, '--out', str(out)],
                          capture_output=True, text=True, env=env)

def test_quick_run_writes_tables_and_json(tmp_path):
    p = bench('--quick', out=tmp_path)
    assert p.returncode == 0, p.stderr[-3000:]
    files = list(tmp_path.glob('*.json'))
    assert len(files) == 1, files
    r = json.loads(files[0].read_text())
    assert r['quick'] is True
    assert r['seconds'] > 0
    machine_keys = {'host', 'date', 'cpu', 'cores', 'torch', 'torch_threads', 'avx512_bf16', 'fastai', 'gpu'}
    assert machine_keys <= set(r['machine'])
    assert list(r['sections'])[:4] == ['lab', 'data', 'train', 'infer']
    for name, s in r['sections'].items():
        assert s['rows'], name
        for row in s['rows']:
            assert {'name', 'value', 'unit', 'baseline', 'ratio', 'target'} <= set(row), row
            assert isinstance(row['value'], float), row
            assert math.isfinite(row['value']), row
            assert row['value'] > 0, row
            if row['target'] is not None: assert isinstance(row['pass'], bool), row
    names = [row['name'] for s in r['sections'].values() for row in s['rows']]
    assert any('bf16' in n for n in names)
    assert any('previous colorize' in n for n in names)
    assert any('plain PyTorch loop' in n for n in names)
    for title in ['## 1. Lab conversion', '## 2. Data loading', '## 3. Training steps', '## 4. Inference',
                  '## 7. CPU training recipe',
                  'PASS' if 'PASS' in p.stdout else 'FAIL']:
        assert title in p.stdout, title

def test_unknown_section_is_a_usage_error(tmp_path):
    p = bench('--only', 'lab,speed', out=tmp_path)
    assert p.returncode == 2
    assert 'unknown sections speed' in p.stderr
    assert not list(tmp_path.glob('*.json'))

def test_isolated_measures_in_a_fresh_process(tmp_path):
    Image.new('RGB', (80, 60), (200, 120, 40)).save(tmp_path/'p.jpg')
    r = harness.isolated(infer_photo, photo=str(tmp_path/'p.jpg'), how='fp32', size=64, repeats=0)
    assert r['size'] == [80, 60]
    assert r['best_s'] > 0
    assert r['peak_rss_mb'] >= r['rss_before_mb'] > 0

def test_gpu_configurations_are_train_fastai_arguments():
    "Every switch of section 5's configurations is an argument of the training step it measures (no GPU needed)."
    import inspect
    from bench_gpu import gpu_configs
    from bench_train import train_fastai
    for c in gpu_configs(quick=False) + gpu_configs(quick=True):
        inspect.signature(train_fastai).bind('gan', 'photos', **c._asdict())
    names = [c.name() for c in gpu_configs(quick=False)]
    assert names[-4:] == ['bf16 channels padded', 'bf16 channels-last channels padded', 'bf16 data included',
                          "bf16 data included fastai's blocking copy"]

def test_gpu_section_says_what_its_images_per_second_mean(tmp_path):
    "Section 5's code, run on the CPU at toy sizes: its rows carry the step's FLOPs, TFLOP/s, shares of the peaks, a COCO epoch."
    from bench_gpu import bench_gpu, Config, datasheet_bf16_tflops, step_flops, COCO_TRAIN_PHOTOS
    data = harness.photo_folder(tmp_path/'photos', 2 * 2 + 1, side=40)
    rows = bench_gpu(str(data), size=32, batch_sizes=(2,), warmup=1, steps=1, quick=True, device='cpu',
                     configs=[Config(data_included=True)]) # (batches made before the clock: section 3's quick run)
    assert [r['name'] for r in rows] == ['pretrain bs 2, fp32 data included', 'gan bs 2, fp32 data included']
    assert (tmp_path/'photos-5x32.npy').exists() # the prepared file the data-included rows read from
    for r in rows:
        assert r['value'] > 0, r
        assert math.isclose(r['tflops'], r['value'] * r['flops_per_image'] / 1e12), r
        assert math.isclose(r['coco_epoch_s'], COCO_TRAIN_PHOTOS / r['value']), r
        assert r['share_of_measured_bf16_matmul'] > 0, r
        assert 'share_of_datasheet_bf16_peak' not in r, r # no datasheet for a CPU
        assert 'measured here; a COCO epoch (118,287 photos)' in r['note'], r['note']
    assert rows[1]['flops_per_image'] > rows[0]['flops_per_image'] # D's update and G's through D
    from fastai.data.load import DataLoader
    from colornb.data import NonBlockingDL
    from bench_train import _prepared_dls, train_fastai
    for blocking, kind in ((False, NonBlockingDL), (True, DataLoader)): # the loaders of the data-included rows
        dls = _prepared_dls(str(data), 32, 2, 2, 'cpu', blocking_copy=blocking)
        assert type(dls.train) is kind and not dls.train.pin_memory and len(dls.train) == 2, (blocking, dls.train)
    with pytest.raises(ValueError, match='blocking_copy is a way of loading'):
        train_fastai('pretrain', str(data), size=32, bs=2, device='cpu', blocking_copy=True)
    # benchmarks/README's figures at 256 px: 170.5 and 220.6 GFLOP
    assert math.isclose(step_flops('pretrain', 256), 170.46e9, rel_tol=1e-4)
    assert math.isclose(step_flops('gan', 256), 220.61e9, rel_tol=1e-4)
    assert step_flops('pretrain', 256) == 64 * rows[0]['flops_per_image'] # G's convolutions: ∝ pixels
    assert [datasheet_bf16_tflops(g) for g in ('NVIDIA H200', 'NVIDIA H100 80GB HBM3', 'NVIDIA H100 PCIe', 'NVIDIA L40S',
                                               'NVIDIA L4', 'Tesla T4')] == [989, 989, 756, 362, 121, None]

def test_channels_last_rows_run_on_the_cpu(tmp_path):
    "Section 5's channels-last rows, padded (colornb's `PaddedChannelsLast`) and not (fastai's `ChannelsLast`), train."
    from bench_train import train_fastai
    data = harness.photo_folder(tmp_path/'photos', 2 * 2 + 1, side=40)
    for pad in (True, False):
        r = train_fastai('pretrain', str(data), size=32, bs=2, warmup=1, steps=1, device='cpu', channels_last=True, pad=pad)
        assert r['s_per_batch'] > 0, r
