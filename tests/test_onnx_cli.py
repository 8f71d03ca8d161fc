"""`colornb export` and `colornb colorize --backend onnx` as users run them: the export and the colorizing as subprocesses,
the error cases through `colornb.cli.main` in this process (`colornb_here`: each subprocess costs seconds of imports)."""
import json, re, shutil, sys
import pytest
from PIL import Image
from conftest import colornb, colornb_here, color_photo

onnx = pytest.importorskip('onnx')
pytest.importorskip('onnxruntime')

@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    "A tiny seeded generator saved as generator.pt, and its ONNX export written by `colornb export` with its defaults."
    import torch
    from colornb.generator import build_generator
    from colornb.checkpoint import save_generator
    d = tmp_path_factory.mktemp('onnx')
    torch.manual_seed(0)
    save_generator(build_generator(size=64, pretrained=False), d/'generator.pt', epochs=2)
    r = colornb('export', '--checkpoint', d/'generator.pt', '--onnx', d/'model.onnx')
    return d, r

def test_export_writes_a_checked_model_with_metadata(exported):
    d, r = exported
    assert r.returncode == 0, r.stderr
    assert f"to {d/'model.onnx'} (ONNX opset 18, input L B×1×H×W, H and W multiples of 32)" in r.stdout
    assert 'colornb colorize --backend onnx' in r.stdout
    stages = ['Tracing the generator with torch.export', 'Translating it to ONNX opset 18',
              'Optimizing the ONNX graph (onnxscript)', 'Checking it with onnx.checker']
    for what in stages: # a line per stage on stderr, with its time
        assert re.search(rf'^{re.escape(what)}.* \.\.\. \d+\.\d s$', r.stderr, re.M), (what, r.stderr)
    m = onnx.load(d/'model.onnx')
    onnx.checker.check_model(m, full_check=True)
    props = {p.key: p.value for p in m.metadata_props}
    import colornb
    assert props['colornb_version'] == colornb.__version__
    meta = json.loads(props['checkpoint_meta'])
    assert meta['epochs'] == 2 and meta['arch'] == 'resnet18' and meta['size'] == 64
    assert [d.dim_param or d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim] == ['batch', 1, '32*h', '32*w']
    assert props['input_shape'] == 'B×1×H×W, H and W multiples of 32'
    assert sorted(p.name for p in d.iterdir()) == ['generator.pt', 'model.onnx']   # no temporary file left beside it

def test_colorize_with_onnx_matches_torch(exported, tmp_path):
    "Photos of several shapes, through the command line with onnxruntime, against `colorize` with the torch generator."
    from colornb.checkpoint import load_generator
    from colornb.predict import colorize
    from colornb.deploy import delta_e76
    d, _ = exported
    photos = tmp_path/'photos'; photos.mkdir()
    for i, size in enumerate([(96, 64), (64, 160), (200, 200)]): color_photo(photos/f'{i}.jpg', size=size, seed=i)
    r = colornb('colorize', photos, '--out', tmp_path/'out', '--backend', 'onnx', '--checkpoint', d/'model.onnx', '--size', '64')
    assert r.returncode == 0, r.stderr
    G = load_generator(d/'generator.pt')
    for f in sorted(photos.iterdir()):
        out = Image.open(tmp_path/'out'/f'{f.stem}.png')
        dE = delta_e76(out, colorize(f, G, size=64))
        assert out.size == Image.open(f).size
        assert dE.mean() < 1.0, (f.name, dE.mean())

def test_broken_model_files_are_one_line(exported, tmp_path):
    d, _ = exported
    photo = color_photo(tmp_path/'p.jpg')
    (tmp_path/'broken.onnx').write_bytes(b'\x08\x07 not a protobuf at all')
    (tmp_path/'cut.onnx').write_bytes((d/'model.onnx').read_bytes()[:50_000])
    cases = [(tmp_path/'broken.onnx', 'onnx', 'not a readable ONNX file'), (tmp_path/'cut.onnx', 'onnx', 'not a readable ONNX file'),
             (tmp_path/'missing.onnx', 'onnx', 'does not exist'), (d/'generator.pt', 'onnx', 'is a PyTorch checkpoint'),
             (d/'model.onnx', 'torch', 'through the onnx backend (--backend onnx)')]
    for model, backend, says in cases:
        r = colornb_here('colorize', photo, '--out', tmp_path/'out', '--backend', backend, '--checkpoint', model)
        assert r.returncode == 1, (model, r.stderr)
        assert r.stderr.startswith(f'colornb colorize: error: ') and str(model) in r.stderr and says in r.stderr, r.stderr
        assert r.stderr.count('\n') == 1, r.stderr
    assert not (tmp_path/'out').exists() or not list((tmp_path/'out').iterdir())

def test_fixed_size_model_colorizes_any_shape(exported, tmp_path):
    "`--size 64` fixes the model's input at 64×64; colorize resizes each L to it and the colour back, to the photo's size."
    d, _ = exported
    r = colornb_here('export', '--checkpoint', d/'generator.pt', '--onnx', tmp_path/'fixed.onnx', '--size', '64')
    assert r.returncode == 0, r.stderr
    assert 'input L B×1×64×64)' in r.stdout
    dims = onnx.load(tmp_path/'fixed.onnx').graph.input[0].type.tensor_type.shape.dim
    assert [x.dim_param or x.dim_value for x in dims] == ['batch', 1, 64, 64]
    photos = tmp_path/'photos'; photos.mkdir()
    sizes = dict(square=(80, 80), wide=(160, 80), tall=(72, 200))
    for name, size in sizes.items(): color_photo(photos/f'{name}.jpg', size=size)
    r = colornb_here('colorize', photos, '--out', tmp_path/'out', '--backend', 'onnx', '--checkpoint', tmp_path/'fixed.onnx',
                     '--size', '64')
    assert r.returncode == 0, r.stderr
    for name, size in sizes.items(): assert Image.open(tmp_path/'out'/f'{name}.png').size == size, name

def test_export_usage_and_refusals(exported, tmp_path, monkeypatch):
    d, _ = exported
    before = (d/'generator.pt').read_bytes()
    r = colornb_here('export', '--checkpoint', d/'generator.pt', '--onnx', d/'generator.pt')
    assert r.returncode == 1 and 'Will not write the ONNX model over its checkpoint' in r.stderr
    assert (d/'generator.pt').read_bytes() == before
    r = colornb_here('export', '--checkpoint', d/'generator.pt', '--onnx', tmp_path/'m.onnx', '--size', '100')
    assert r.returncode == 1 and 'must be a multiple of 32' in r.stderr
    r = colornb_here('export', '--onnx', tmp_path/'m.onnx', '--size', '64', '--dynamic')
    assert r.returncode == 2 and 'not allowed with argument --size' in r.stderr
    monkeypatch.setitem(sys.modules, 'onnxruntime', None)   # as if the onnx extra were not installed
    r = colornb_here('colorize', color_photo(tmp_path/'p.jpg'), '--out', tmp_path/'out', '--backend', 'onnx',
                     '--checkpoint', d/'model.onnx')
    assert r.returncode == 1 and r.stderr == ("colornb colorize: error: onnxruntime is not installed; ONNX export and the onnx backend "
                                            "need it: pip install 'colornb[onnx]'\n")
    assert not list(tmp_path.glob('*.onnx'))
