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
