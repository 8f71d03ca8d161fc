"What the notebooks cannot check about themselves: the installed package, its data files and its metadata."
import re, subprocess, sys, tomllib
from pathlib import Path
from conftest import REPO

def test_import_does_no_work():
    "Importing colornb loads neither torch nor fastai; importing a module does not touch the network or the disk."
    out = subprocess.run([sys.executable, '-c', 'import colornb, sys; print("torch" in sys.modules, "fastai" in sys.modules)'],
                         capture_output=True, text=True, check=True).stdout.split()
    assert out == ['False', 'False']

def test_every_notebook_exports_its_module():
    for nb in sorted((REPO/'nbs').glob('[0-9][0-9]_*.ipynb')):
        name = nb.stem.split('_', 1)[1]
        assert f'#| default_exp {name}' in nb.read_text(), nb
        assert (REPO/'colornb'/f'{name}.py').exists(), f'{nb.name} should export colornb/{name}.py'

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
