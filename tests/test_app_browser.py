"The web app end to end: `colornb app` serving on localhost, a real headless Chromium uploading photos."
import os, re, shutil, signal, socket, subprocess, time, urllib.request, numpy as np, pytest
from pathlib import Path
from types import SimpleNamespace
from PIL import Image
from conftest import color_photo, COLORNB, THREADS_SET_HERE

CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')
MAX_UPLOAD_MB = 1 # the server's upload limit in these tests (`colornb app --max-upload-mb`)
DOWNLOAD = 'Download the colorized photo (PNG, full resolution)'

def _free_port()->int:
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def _children(pid:int)->list:
    "Ids of the processes whose parent is `pid`."
    kids = []
    for d in Path('/proc').iterdir():
        try:
            if d.name.isdigit() and int((d/'stat').read_text().rsplit(')', 1)[1].split()[1]) == pid: kids.append(int(d.name))
        except (OSError, IndexError, ValueError): pass
    return kids

def streamlit_holds(app)->dict:
    "The bytes Streamlit's own accounting says it holds, from its metrics endpoint: uploads, and media (images, downloads)."
    text = urllib.request.urlopen(app.url + '/_stcore/metrics', timeout=10).read().decode()
    held = {'UploadedFileManager': 'uploads', 'st_memory_media_file_storage': 'media'}
    return {held[t]: int(n) for t, n in re.findall(r'cache_memory_bytes\{cache_type="(\w+)",cache=""\} (\d+)', text) if t in held}

def rss_mb(pid:int)->float:
    "Resident memory of process `pid` in MB, from /proc/<pid>/status."
    line = next(l for l in Path(f'/proc/{pid}/status').read_text().splitlines() if l.startswith('VmRSS:'))
    return int(line.split()[1]) / 1024

def _signals_as_in_a_terminal():
    "In the server before it starts: SIGINT's and SIGHUP's default actions, which a runner in the background ignores."
    signal.signal(signal.SIGINT, signal.SIG_DFL); signal.signal(signal.SIGHUP, signal.SIG_DFL)

def start_app(generator:Path)->SimpleNamespace:
    "`colornb app` serving `generator` with a 1 MB upload limit, as a user starts it: its process and URL (not waited for)."
    port = _free_port()
    # the server as a user runs it: PyTorch on every core, not the test worker's share (its memory is measured below)
    env = {k: v for k, v in os.environ.items() if not (THREADS_SET_HERE and k == 'OMP_NUM_THREADS')}
    proc = subprocess.Popen([*COLORNB, 'app', '--checkpoint', str(generator), '--port', str(port), '--address', '127.0.0.1',
                             '--max-upload-mb', str(MAX_UPLOAD_MB)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, env=env, preexec_fn=_signals_as_in_a_terminal)
    return SimpleNamespace(proc=proc, pid=proc.pid, port=port, url=f'http://127.0.0.1:{port}')

def wait_until_serving(app:SimpleNamespace):
    for _ in range(240):                                       # at most 120 s for Streamlit to start
        try: urllib.request.urlopen(app.url + '/_stcore/health', timeout=2); return
        except OSError:
            if app.proc.poll() is not None: pytest.fail(f'colornb app ended with status {app.proc.returncode}')
            time.sleep(0.5)
    pytest.fail('the app did not start within 120 s')

def stop(app:SimpleNamespace):
    "The app's whole process group, ended."
    try: os.killpg(app.pid, signal.SIGTERM); app.proc.wait(10)
    except ProcessLookupError: pass
    except subprocess.TimeoutExpired: os.killpg(app.pid, signal.SIGKILL)

@pytest.fixture(scope='module')
def generator(tmp_path_factory):
    "A tiny random generator."
    if not CHROMIUM:
        if os.environ.get('CI'): pytest.fail('CI must install chromium and playwright (see .ci/run)')
        pytest.skip('no chromium on this machine: apt-get install chromium; pip install playwright')
    from colornb.generator import build_generator
    from colornb.checkpoint import save_generator
    return save_generator(build_generator(size=64, pretrained=False), tmp_path_factory.mktemp('app')/'generator.pt',
                          epochs=1, stage='gan')

@pytest.fixture(scope='module')
def app(generator):
    "`colornb app` with a tiny random generator and a 1 MB upload limit: its URL and process id."
    app = start_app(generator)
    try:
        wait_until_serving(app)
        yield app
    finally: stop(app)

@pytest.fixture(scope='module')
def browser(app):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=['--no-sandbox', '--disable-gpu'])
        try: yield b
        finally: b.close()

def open_app(browser, app):
    page = browser.new_page(accept_downloads=True)
    page.goto(app.url, timeout=60_000)
    page.get_by_text('colornb: colour for black-and-white photos').wait_for(timeout=60_000)
    return page

def wait_for(locator, state:str='visible', timeout:float=120):
    """`locator.wait_for`, checked every 20 ms: Playwright's own checks back off to every 500 ms, which made each wait
    for a Streamlit rerun of about 0.3 s take 0.8 s."""
    done = locator.is_visible if state == 'visible' else lambda: locator.count() == 0
    end = time.monotonic() + timeout
    while not done():
        if time.monotonic() > end: raise TimeoutError(f'{locator} not {state} after {timeout} s')
        time.sleep(0.02)

def upload(page, path:Path):
    page.locator('input[type="file"]').set_input_files(str(path))

def test_upload_colorize_download_in_a_real_browser(app, browser, tmp_path):
    from colornb.images import SAMPLES_PATH
    photo = tmp_path/'old photo.jpg'
    Image.open(SAMPLES_PATH/'skimage_chelsea.jpg').convert('L').save(photo)
    page = open_app(browser, app)
    upload(page, photo)
    button = page.get_by_role('button', name=DOWNLOAD)
    button.wait_for(timeout=120_000)
    images = page.locator('[data-testid="stImage"] img')
    wait_for(images.nth(2)) # the page may draw the button before the images (seen once with both test workers busy)
    assert images.count() >= 3                                          # grayscale, colorized, before/after
    with page.expect_download(timeout=60_000) as dl: button.click()
    dl.value.save_as(tmp_path/'downloaded.png')
    page.screenshot(path=str(tmp_path/'page.png'), full_page=True)
    page.close()
    got = Image.open(tmp_path/'downloaded.png')
    assert got.size == Image.open(photo).size
    assert got.mode == 'RGB'

def test_upload_over_the_size_limit_is_refused(app, browser, tmp_path):
    big = tmp_path/'big photo.png'                         # a real photo, so that only its size can be the reason it is refused
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (600, 800, 3), dtype=np.uint8)).save(big)
    assert big.stat().st_size > MAX_UPLOAD_MB * 1024**2
    small = color_photo(tmp_path/'small photo.png', size=(64, 48))
    page = open_app(browser, app)
    upload(page, big)
    page.get_by_text(f'File must be {MAX_UPLOAD_MB:.1f}MB or smaller.').wait_for(timeout=30_000)   # Streamlit's refusal, beside the file's name
    upload(page, small)                                    # the app still works, for a photo under the limit
    page.get_by_role('button', name=DOWNLOAD).wait_for(timeout=120_000)
    assert page.get_by_role('heading', name='small photo.png').count() == 1
    assert page.get_by_role('heading', name='big photo.png').count() == 0   # the refused file never reached the app
    assert page.get_by_role('button', name=DOWNLOAD).count() == 1
    page.close()

def _fifty_uploads(d:Path)->list:
    "50 small files, valid photos and broken files mixed: (file, valid)."
    files = []
    for i in range(50):
        kind = i % 5
        if kind in (0, 3): files.append((color_photo(d/f'photo {i:02d}.{"png" if kind == 0 else "jpg"}', size=(320, 240), seed=i), True))
        elif kind == 1: (d/f'text {i:02d}.jpg').write_text('this is not a photo'); files.append((d/f'text {i:02d}.jpg', False))
        elif kind == 2:
            whole = color_photo(d/'whole.png', size=(64, 48), seed=i).read_bytes()
            (d/f'truncated {i:02d}.png').write_bytes(whole[:len(whole) // 3]); files.append((d/f'truncated {i:02d}.png', False))
        else: (d/f'empty {i:02d}.webp').write_bytes(b''); files.append((d/f'empty {i:02d}.webp', False))
    return files

def test_fifty_uploads_in_a_row_memory_stays_flat(app, browser, tmp_path):
    files = _fifty_uploads(tmp_path)
    page = open_app(browser, app)
    page.get_by_role('slider').first.focus()               # render size 256 → 128, to keep the test quick
    page.keyboard.press('ArrowLeft'); page.keyboard.press('ArrowLeft')
    page.get_by_role('slider').first.and_(page.locator('[aria-valuetext="128"]')).wait_for(timeout=30_000)
    page.get_by_test_id('stStatusWidget').wait_for(state='hidden', timeout=60_000)   # the rerun for the new size is done
    rss, held, t0 = {}, {0: streamlit_holds(app)}, time.time()
    for i, (f, valid) in enumerate(files, 1):
        upload(page, f)
        try:
            wait_for(page.get_by_role('button', name=DOWNLOAD) if valid else page.get_by_text(f'Cannot read {f.name}'))
        except Exception:
            page.screenshot(path=str(tmp_path/'page.png'), full_page=True); raise
        page.get_by_role('button', name=f'Remove {f.name}').click()          # one upload at a time, as a user would
        wait_for(page.get_by_role('heading', name=f.name), 'detached')
        rss[i], held[i] = rss_mb(app.pid), streamlit_holds(app)
    took = time.time() - t0
    last = color_photo(tmp_path/'after fifty.png', size=(64, 48))          # the app still answers
    upload(page, last)
    page.get_by_role('button', name=DOWNLOAD).wait_for(timeout=120_000)
    assert urllib.request.urlopen(app.url + '/_stcore/health', timeout=10).status == 200
    page.close()
    early, late = min(rss[i] for i in range(6, 11)), min(rss[i] for i in range(46, 51))   # floors: a leak raises them, allocator noise does not
    print(f"\nserver RSS after upload 1, 10, 30, 50: {', '.join(f'{rss[i]:.0f}' for i in (1, 10, 30, 50))} MB (min {min(rss.values()):.0f}, "
          f"max {max(rss.values()):.0f}); lowest over uploads 6-10: {early:.0f} MB, over 46-50: {late:.0f} MB, growth {late - early:+.0f} MB; "
          f"Streamlit holds {held[0]} before, {held[50]} after; 50 uploads in {took:.0f} s")
    # what the server keeps of removed uploads, counted in bytes (not RSS, which the allocator moves): at most the last
    # one's views, which Streamlit lets go of a run later; never one more photo's worth for every upload
    total = {i: sum(h.values()) for i, h in held.items()}
    assert max(total.values()) <= 2 * max(total[i] for i in range(1, 11)), total
    # and the resident memory's floor: with the photos colorized on the app's fixed colorizing threads it stays put (-141
    # and -19 MB with one such thread; the CI run of the thread-per-core app passed); with each run colorizing in a new
    # thread of its own it rose by up to +114 MB over these 50 uploads
    assert late - early < 100, rss

def _cmdline(pid:int)->list: return Path(f'/proc/{pid}/cmdline').read_bytes().decode().split('\0')

def test_sigterm_sigint_and_sighup_each_stop_the_app_and_free_its_port(app, generator):
    """What `kill`, Ctrl-C and a closed terminal send: `colornb app` is the server itself, and each signal ends it all.
    SIGTERM goes to the module's app, which is why this test comes last in the file."""
    apps = {signal.SIGTERM: app, signal.SIGINT: start_app(generator), signal.SIGHUP: start_app(generator)}
    try:
        for a in apps.values(): wait_until_serving(a)
        for sig, a in apps.items():
            assert 'streamlit' in _cmdline(a.pid) and _children(a.pid) == [], (_cmdline(a.pid), _children(a.pid))
            os.kill(a.pid, sig)
        for sig, a in apps.items():
            try: a.proc.wait(30)
            except subprocess.TimeoutExpired: pytest.fail(f'colornb app still runs 30 s after {sig.name}')
            with pytest.raises(ProcessLookupError): os.killpg(a.pid, 0)       # nothing of it is left
            with socket.socket() as s:                                         # and its port is free for a new server
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', a.port))
    finally:
        for a in apps.values(): stop(a)
