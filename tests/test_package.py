"What the notebooks cannot check about themselves: the installed package, its data files and its metadata."
import re, subprocess, sys, tomllib
from pathlib import Path
from conftest import REPO

def test_import_does_no_work():
    "Importing colornb loads neither torch nor fastai; importing a module does not touch the network or the disk."
    out = subprocess.run([sys.executable, '-c', 'import colornb, sys; print("torch" in sys.modules, "fastai" in sys.modules)'],
                         capture_output=True, text=True, check=True).stdout.split()
    assert out == ['False', 'False']

def test_samples_ship_with_their_licences():
    import colornb
    samples = Path(colornb.__file__).parent/'samples'
    credits = (samples/'CREDITS.md').read_text()
    photos = sorted(samples.glob('*.jpg'))
    assert len(photos) == 20
    for p in photos: assert p.name in credits, f'{p.name} has no licence line in CREDITS.md'

def test_dependencies_are_ranges_not_pins():
    meta = tomllib.loads((REPO/'pyproject.toml').read_text())
    deps = meta['project']['dependencies'] + sum(meta['project']['optional-dependencies'].values(), [])
    assert not [d for d in deps if '==' in d]
    names = {re.split(r'[<>=!~ \[]', d)[0].lower() for d in meta['project']['dependencies']}
    assert {'fastai', 'torch', 'torchvision', 'scikit-image', 'matplotlib', 'ipywidgets'} <= names

def test_ci_runs_the_readme_test_command():
    readme, ci = (REPO/'README.md').read_text(), (REPO/'.ci/run').read_text()
    blocks = re.findall(r'```bash\n(.*?)\n```', readme, flags=re.S)
    test_cmd = next(b for b in blocks if 'pytest' in b)
    assert test_cmd in ci.splitlines()

def test_every_notebook_installs_colornb_in_colab_and_has_a_colab_link():
    import json
    readme = (REPO/'README.md').read_text()
    for nb in sorted((REPO/'nbs').glob('[0-9][0-9]_*.ipynb')):
        cells = json.loads(nb.read_text())['cells']
        first_code = next(''.join(c['source']) for c in cells if c['cell_type'] == 'code')
        assert "if 'google.colab' in sys.modules:" in first_code, nb.name
        assert 'git+https://github.com/colornb/colornb' in first_code, nb.name
        assert f'https://colab.research.google.com/github/colornb/colornb/blob/main/nbs/{nb.name}' in readme, nb.name
    # the cell does nothing outside Colab, and installs colornb inside it
    code, calls = first_code.replace("subprocess.run(", "fake_run("), []
    fake_run = lambda cmd, **kwargs: calls.append(cmd)
    exec(code, dict(fake_run=fake_run)); assert calls == []
    sys.modules['google.colab'] = type(sys)('google.colab')
    try: exec(code, dict(fake_run=fake_run)); assert calls[0][-1] == 'git+https://github.com/colornb/colornb'
    finally: del sys.modules['google.colab']
