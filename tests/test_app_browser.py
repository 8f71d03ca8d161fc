"The web app end to end: `colornb app` serving on localhost, a real headless Chromium uploading a photo."
import os, shutil, socket, subprocess, time, urllib.request, pytest
from pathlib import Path

CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')

def _free_port()->int:
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

@pytest.fixture(scope='module')
def app_url(tmp_path_factory):
    if not CHROMIUM or not shutil.which('colornb'):
        if os.environ.get('CI'): pytest.fail('CI must install chromium and playwright (see .ci/run)')
        pytest.skip('no chromium on this machine: apt-get install chromium; pip install playwright')
    from colornb.generator import build_generator, save_generator
    tmp = tmp_path_factory.mktemp('app')
    save_generator(build_generator(size=64, pretrained=False), tmp/'generator.pt', epochs=1, stage='gan')
    port = _free_port()
    server = subprocess.Popen(['colornb', 'app', '--checkpoint', str(tmp/'generator.pt'), '--port', str(port), '--address', '127.0.0.1'],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f'http://127.0.0.1:{port}'
    try:
        for _ in range(120):                                   # at most 60 s for Streamlit to start
            try: urllib.request.urlopen(url + '/_stcore/health', timeout=2); break
            except OSError: time.sleep(0.5)
        else: pytest.fail('the app did not start within 60 s')
        yield url
    finally:
        server.terminate()
        try: server.wait(10)
        except subprocess.TimeoutExpired: server.kill()

def test_upload_colorize_download_in_a_real_browser(app_url, tmp_path):
    from playwright.sync_api import sync_playwright
    from PIL import Image
    from colornb.data import SAMPLES_PATH
    photo = tmp_path/'old photo.jpg'
    Image.open(SAMPLES_PATH/'skimage_chelsea.jpg').convert('L').save(photo)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=['--no-sandbox', '--disable-gpu'])
        try:
            page = browser.new_page(accept_downloads=True)
            page.goto(app_url, timeout=60_000)
            page.get_by_text('colornb: colour for black-and-white photos').wait_for(timeout=60_000)
            page.locator('input[type="file"]').set_input_files(str(photo))
            button = page.get_by_role('button', name='Download the colorized photo (PNG, full resolution)')
            button.wait_for(timeout=120_000)
            assert page.locator('[data-testid="stImage"] img').count() >= 3      # grayscale, colorized, before/after
            with page.expect_download(timeout=60_000) as dl: button.click()
            dl.value.save_as(tmp_path/'downloaded.png')
            page.screenshot(path=str(tmp_path/'page.png'), full_page=True)
        finally: browser.close()
    got = Image.open(tmp_path/'downloaded.png')
    assert got.size == Image.open(photo).size and got.mode == 'RGB'
