"The bad-input battery: every file is made here, and goes through `colorize`, `colornb colorize`, the data loader and the web app."
import hashlib, os, subprocess, sys, warnings, numpy as np, pytest, torch
from pathlib import Path
from PIL import Image
from conftest import colornb_here, color_photo, without_root_powers, read_only_folder, TINY, COLORNB

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
    from colornb.generator import build_generator
    from colornb.checkpoint import save_generator
    d = tmp_path_factory.mktemp('battery')
    expected = make_battery(d)
    torch.manual_seed(0)
    save_generator(build_generator(size=64, pretrained=False), d.parent/'generator.pt')
    return d, expected, d.parent/'generator.pt'

def _digests(d): return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in d.rglob('*') if p.is_file()}

def test_colorize_function(battery):
    from colornb.predict import colorize
    from colornb.checkpoint import load_generator
    from colornb.images import ImageError
    d, expected, ckpt = battery
    G = load_generator(ckpt)
    for name, (kind, what) in expected.items():
        if kind == 'ok':
            out = colorize(d/name, G, size=64)
            assert (out.mode, out.size) == ('RGB', what), name
        else:
            with pytest.raises(ImageError) as e: colorize(d/name, G, size=64)
            msg = str(e.value)
            assert str(d/name) in msg, msg
            assert what in msg, msg
            assert '\n' not in msg, msg

def test_colorize_command(battery, tmp_path):
    d, expected, ckpt = battery
    before = _digests(d)
    r = colornb_here('colorize', *[d/n for n in expected], '--out', tmp_path/'out', '--checkpoint', ckpt, '--size', '64')
    assert r.returncode == 1
    assert 'Traceback' not in r.stderr
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
    r = colornb_here('colorize', d/'rgba.png', '--out', tmp_path/'a file'/'out', '--checkpoint', ckpt)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines()[-1].startswith(f"colornb colorize: error: Cannot write to the output folder {tmp_path/'a file'/'out'}: Not a directory")
    before = _digests(d)
    r = colornb_here('colorize', d, '--out', d, '--checkpoint', ckpt, '--size', '64')   # output folder = input folder
    assert r.returncode == 1
    assert all(before[p] == h for p, h in _digests(d).items() if p in before)
    assert (d/'rgba-colorized.png').exists()
    assert (d/'rgba.png').read_bytes()
    assert hashlib.sha256((d/'rgba.png').read_bytes()).hexdigest() == before[d/'rgba.png']
    for p in set(_digests(d)) - set(before): p.unlink()

READ_ONLY_RUNS = """import contextlib, io, sys
from colornb.cli import main
from colornb.predict import colorize_files
from colornb.checkpoint import load_generator
photos, ckpt, ro = sys.argv[1:3], sys.argv[3], sys.argv[4]
for out in (ro, ro + '/new'): # the command line, in this process: its exit status and its output
    out_, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out_), contextlib.redirect_stderr(err):
        code = main(['colorize', *photos, '--out', out, '--checkpoint', ckpt, '--size', '64'])
    print('== exit status', code, repr(out_.getvalue())); print(err.getvalue().strip())
try: colorize_files(photos[:1], load_generator(ckpt), ro, size=64) # the library: an OSError a program can catch
except OSError as e: print('==', type(e).__name__, e)
"""

def test_read_only_output_folder(battery, tmp_path):
    """A folder that cannot be written, or created, is one line from the command and an OSError from the library,
    raised before any photo is read. One process without root's powers (CI runs as root) runs the three cases."""
    d, expected, ckpt = battery
    ro = read_only_folder(tmp_path/'read-only')
    before = _digests(d)
    cmd = [sys.executable, '-c', READ_ONLY_RUNS, d/'rgba.png', d/'cmyk.jpg', ckpt, ro]
    r = subprocess.run(without_root_powers(cmd), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert 'Traceback' not in r.stdout + r.stderr
    runs = r.stdout.split('== exit status ')[1:]
    for run, line in zip(runs, [f"Cannot write to the output folder {ro}: Permission denied",
                                f"Cannot write to the output folder {ro/'new'}: Permission denied"]):
        code, *err = run.split('\n== ')[0].strip().splitlines()
        assert code == "1 ''", run # status 1, nothing on stdout
        assert err[-1] == f"colornb colorize: error: {line}", run
    assert len(runs) == 2, r.stdout
    last = r.stdout.strip().splitlines()[-1]
    assert last == f"== WriteError Cannot write to the output folder {ro}: Permission denied"
    assert list(ro.iterdir()) == []
    assert _digests(d) == before                     # nothing written, no input touched

def test_prepare_into_a_read_only_folder_is_one_line(photo_folder, tmp_path):
    ro = read_only_folder(tmp_path/'read-only')
    r = subprocess.run(without_root_powers([*COLORNB, 'prepare', '--data', photo_folder, '--out', ro/'photos.npy', '--size', '32']),
                       capture_output=True, text=True)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [f"colornb prepare: error: Cannot write to the output folder {ro}: Permission denied"]
    assert list(ro.iterdir()) == []

def test_train_into_a_read_only_folder_stops_before_training(photo_folder, tmp_path):
    ro = read_only_folder(tmp_path/'read-only')
    r = subprocess.run(without_root_powers([*COLORNB, 'train', '--data', photo_folder, '--out', ro, '--pretrain-epochs', '1', '--gan-epochs', '1', *TINY]),
                       capture_output=True, text=True)
    print(r.stderr.strip().splitlines()[-1])
    assert r.returncode == 1
    assert 'Traceback' not in r.stderr
    assert r.stderr.strip().splitlines() == [f"colornb train: error: Cannot write to the output folder {ro}: Permission denied"]
    assert 'epoch' not in r.stdout
    assert list(ro.iterdir()) == []                    # no epoch trained, nothing written

def test_data_loader(battery):
    from colornb.data import colorization_dls
    d, expected, _ = battery
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        dls = colorization_dls(d, size=32, bs=2, num_workers=0, valid_pct=0.25)
    msgs = [str(x.message) for x in w if 'Left out' in str(x.message)]
    assert len(msgs) == 1, msgs
    assert 'unreadable' in msgs[0], msgs
    assert 'already grayscale' in msgs[0], msgs
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

def test_web_app_opens_no_path_a_user_gives(battery):
    "The app reads only uploaded bytes and the bundled samples, picked from a fixed list: a file name is never opened as a path."
    from streamlit.testing.v1 import AppTest
    import colornb
    from colornb.images import SAMPLES_PATH
    d, expected, ckpt = battery
    real = SAMPLES_PATH/'skimage_chelsea.jpg'
    os.environ['COLORNB_CHECKPOINT'] = str(ckpt)
    try:
        at = AppTest.from_file(str(Path(colornb.__file__).parent/'app.py'), default_timeout=300).run()
        inputs = {k: len(getattr(at, k)) for k in ('text_input', 'text_area', 'number_input', 'chat_input', 'date_input', 'time_input')}
        assert inputs == dict.fromkeys(inputs, 0), inputs                           # nowhere to type a path
        assert at.selectbox[0].options == ['(none)'] + sorted(p.name for p in SAMPLES_PATH.glob('*.jpg'))
        at.file_uploader[0].set_value([(str(real), b'not a photo', 'image/jpeg')]).run()   # named like a real photo on this disk
    finally: del os.environ['COLORNB_CHECKPOINT']
    assert len(at.exception) == 0
    assert len(at.download_button) == 0                 # the bytes were read, not the file of that name
    assert [e.value.split(':')[0] for e in at.error] == [f'Cannot read {real}']
