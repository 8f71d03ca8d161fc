"The bad-input battery: every file is made here, and goes through `colorize`, `colornb colorize`, the data loader and the web app."
import hashlib, os, warnings, numpy as np, pytest, torch
from pathlib import Path
from PIL import Image
from conftest import colornb

def _photo(w=96, h=64):
    y, x = np.mgrid[0:h, 0:w]
    return Image.fromarray(np.stack([x * 255 // w, y * 255 // h, 255 - x * 255 // w], -1).astype(np.uint8))

def make_battery(d:Path)->dict:
    "Write every bad or odd input into `d`; return name → expected ('ok', size) or ('error', part of the message)."
    p = _photo()
    (d/'empty.jpg').write_bytes(b'')
    (d/'text.jpg').write_text('this is not a photo')
    p.save(d/'whole.jpg'); (d/'truncated.jpg').write_bytes((d/'whole.jpg').read_bytes()[:400]); (d/'whole.jpg').unlink()
    noisy = Image.fromarray(np.random.default_rng(0).integers(0, 256, (300, 400, 3), dtype=np.uint8))
    noisy.save(d/'whole.png'); whole = (d/'whole.png').read_bytes(); (d/'truncated.png').write_bytes(whole[:len(whole) // 2]); (d/'whole.png').unlink()
    _photo(1, 1).save(d/'one pixel.png')
    _photo(20000, 1).save(d/'strip.png')
    Image.new('L', (9500, 9500)).save(d/'bomb.png')
    Image.fromarray((np.asarray(p.convert('L')).astype(np.uint16) * 257)).save(d/'gray16.png')
    p.convert('CMYK').save(d/'cmyk.jpg')
    pal = p.convert('P'); pal.info['transparency'] = 0; pal.save(d/'palette transparent.png', transparency=0)
    p.convert('RGBA').save(d/'rgba.png'); p.convert('LA').save(d/'la.png')
    p.save(d/'animated.gif', save_all=True, append_images=[p.rotate(90), p.rotate(180)], duration=100, loop=0)
    p.save(d/'pages.tif', save_all=True, append_images=[p.convert('L')])
    exif = Image.Exif(); exif[0x0112] = 6; p.save(d/'rotated.jpg', exif=exif)
    p.convert('L').convert('RGB').save(d/'already gray.jpg')
    (d/'folder.jpg').mkdir()
    p.save(d/'naïve café ☕.png')
    ok = lambda size=(96, 64): ('ok', size)
    return {'empty.jpg': ('error', 'not an image file'), 'text.jpg': ('error', 'not an image file'), 'truncated.jpg': ('error', 'runcated'),
            'truncated.png': ('error', 'truncated'), 'one pixel.png': ok((1, 1)), 'strip.png': ok((20000, 1)),
            'bomb.png': ('error', 'too many pixels'), 'gray16.png': ok(), 'cmyk.jpg': ok(), 'palette transparent.png': ok(), 'rgba.png': ok(),
            'la.png': ok(), 'animated.gif': ok(), 'pages.tif': ok(), 'rotated.jpg': ok((64, 96)), 'already gray.jpg': ok(),
            'folder.jpg': ('error', 'folder'), 'missing.jpg': ('error', 'no such file'), 'naïve café ☕.png': ok()}

@pytest.fixture(scope='module')
def battery(tmp_path_factory):
    from colornb.generator import build_generator, save_generator
    d = tmp_path_factory.mktemp('battery')
    expected = make_battery(d)
    torch.manual_seed(0)
    save_generator(build_generator(size=64, pretrained=False), d.parent/'generator.pt')
    return d, expected, d.parent/'generator.pt'

def _digests(d): return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in d.rglob('*') if p.is_file()}

def test_colorize_function(battery):
    from colornb.predict import colorize, load_generator, ImageError
    d, expected, ckpt = battery
    G = load_generator(ckpt)
    for name, (kind, what) in expected.items():
        if kind == 'ok':
            out = colorize(d/name, G, size=64)
            assert (out.mode, out.size) == ('RGB', what), name
        else:
            with pytest.raises(ImageError) as e: colorize(d/name, G, size=64)
            msg = str(e.value)
            assert str(d/name) in msg and what in msg and '\n' not in msg, msg

def test_colorize_command(battery, tmp_path):
    d, expected, ckpt = battery
    before = _digests(d)
    r = colornb('colorize', *[d/n for n in expected], '--out', tmp_path/'out', '--checkpoint', ckpt, '--size', '64')
    assert r.returncode == 1 and 'Traceback' not in r.stderr
    errors = [l for l in r.stderr.splitlines() if l.startswith('colornb colorize: ')]
    for name, (kind, what) in expected.items():
        lines = [l for l in errors if str(d/name) in l]
        if kind == 'ok':
            assert not lines, lines
            assert Image.open(tmp_path/'out'/f'{Path(name).stem}.png').size == what, name
        else: assert len(lines) == 1 and what in lines[0], (name, lines)
    assert _digests(d) == before                                        # no input touched

def test_output_folder_problems(battery, tmp_path):
    d, expected, ckpt = battery
    (tmp_path/'a file').write_text('x')
    r = colornb('colorize', d/'rgba.png', '--out', tmp_path/'a file'/'out', '--checkpoint', ckpt)
    assert r.returncode == 1 and r.stderr.strip().splitlines()[-1].startswith(f"colornb colorize: error: Cannot create the output folder {tmp_path/'a file'/'out'}")
    before = _digests(d)
    r = colornb('colorize', d, '--out', d, '--checkpoint', ckpt, '--size', '64')   # output folder = input folder
    assert r.returncode == 1 and all(before[p] == h for p, h in _digests(d).items() if p in before)
    assert (d/'rgba-colorized.png').exists() and (d/'rgba.png').read_bytes() and hashlib.sha256((d/'rgba.png').read_bytes()).hexdigest() == before[d/'rgba.png']
    for p in set(_digests(d)) - set(before): p.unlink()

def test_data_loader(battery):
    from colornb.data import colorization_dls
    d, expected, _ = battery
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        dls = colorization_dls(d, size=32, bs=2, num_workers=0, valid_pct=0.25)
    msgs = [str(x.message) for x in w if 'Left out' in str(x.message)]
    assert len(msgs) == 1 and 'unreadable' in msgs[0] and 'already grayscale' in msgs[0], msgs
    kept = {Path(f).name for f in list(dls.train_ds.items) + list(dls.valid_ds.items)}
    assert kept == {'one pixel.png', 'strip.png', 'cmyk.jpg', 'palette transparent.png', 'rgba.png', 'animated.gif', 'pages.tif',
                    'rotated.jpg', 'naïve café ☕.png'}, kept

def test_web_app(battery):
    from streamlit.testing.v1 import AppTest
    import colornb
    d, expected, ckpt = battery
    uploads = [(n, (d/n).read_bytes(), 'application/octet-stream') for n in expected if (d/n).is_file()]
    os.environ['COLORNB_CHECKPOINT'] = str(ckpt)
    try:
        at = AppTest.from_file(str(Path(colornb.__file__).parent/'app.py'), default_timeout=300).run()
        at.file_uploader[0].set_value(uploads).run()
    finally: del os.environ['COLORNB_CHECKPOINT']
    assert len(at.exception) == 0
    bad = [n for n, _, _ in uploads if expected[n][0] == 'error']
    assert sorted(e.value.split(':')[0] for e in at.error) == sorted(f'Cannot read {n}' for n in bad)
    assert len(at.download_button) == len(uploads) - len(bad)
