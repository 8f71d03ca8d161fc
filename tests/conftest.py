import os
# Each of pytest-xdist's workers (two on the 2-core CI machine) gets its share of the cores for torch/OpenMP, and so do the
# `colornb` processes the tests start: with every process using every core, OpenMP threads spin-wait on each other
# (measured on 2 cores: pytest 366 s with each worker using both cores, 268 s with one each).
_workers = int(os.environ.get('PYTEST_XDIST_WORKER_COUNT', '1'))
THREADS_SET_HERE = _workers > 1 and 'OMP_NUM_THREADS' not in os.environ # the web app's server is started without it
if THREADS_SET_HERE: os.environ['OMP_NUM_THREADS'] = str(max(1, (os.cpu_count() or 1) // _workers))
import contextlib, io, json, subprocess, sys, numpy as np, pytest
from filelock import FileLock
from unittest import mock
from pathlib import Path
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
COLORNB = [sys.executable, '-m', 'colornb'] # the command line of the Python running the tests, activated or not

def color_photo(path:Path, size=(96, 64), seed=0):
    "Write a small synthetic colour photo: smooth colour gradients plus noise, so it is clearly not gray."
    rng = np.random.default_rng(seed)
    h, w = size[1], size[0]
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    img = np.stack([x, y, 1 - x * y], -1) * 200 + rng.normal(0, 10, (h, w, 3)) + 20
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(path)
    return path

@pytest.fixture
def photo_folder(tmp_path):
    "A folder of 10 generated colour photos of mixed sizes and formats, one in a subfolder."
    (tmp_path/'sub').mkdir()
    for i in range(10):
        ext = ['jpg', 'png', 'webp'][i % 3]
        color_photo(tmp_path/('sub' if i == 9 else '.')/f'photo {i}.{ext}', size=(96 + 8*i, 64 + 4*i), seed=i)
    return tmp_path

def colornb(*args, home=None, env:dict=None):
    "Run the `colornb` command with `args`; `home` sets COLORNB_HOME, `env` more environment variables."
    env = dict(os.environ, **({'COLORNB_HOME': str(home)} if home else {}), **(env or {}))
    return subprocess.run([*COLORNB, *map(str, args)], capture_output=True, text=True, env=env)

def colornb_here(*args, home=None, env:dict=None):
    """`colornb args` run by `colornb.cli.main` in this process, as a `CompletedProcess` like `colornb`'s: the same exit
    status and output, without the 4-5 s of CPU that each new process spends importing torch and fastai."""
    from colornb.cli import main
    out, err = io.StringIO(), io.StringIO()
    env = {**({'COLORNB_HOME': str(home)} if home else {}), **(env or {})}
    with mock.patch.dict(os.environ, env), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try: code = main([str(a) for a in args])
        except SystemExit as e: code = e.code if isinstance(e.code, int) else int(e.code is not None) # argparse's
    return subprocess.CompletedProcess(['colornb', *map(str, args)], code, out.getvalue(), err.getvalue())

# previews at epoch ends only; --preview-every 1 adds one after every batch
TINY = ['--size', '64', '--bs', '4', '--no-pretrained', '--num-workers', '0', '--preview-every', '0', '--save-every', '0']

@pytest.fixture(scope='session')
def trained(tmp_path_factory, worker_id):
    """One tiny run of both stages (colornb train on 10 generated photos), shared by the tests that need a trained run:
    made once for all of pytest-xdist's workers (the first to get here makes it, under a lock; the others read it)."""
    shared = tmp_path_factory.getbasetemp() if worker_id == 'master' else tmp_path_factory.getbasetemp().parent
    data, out, result = shared/'trained-photos', shared/'trained-run', shared/'trained-run.json'
    with FileLock(shared/'trained.lock'):
        if not result.exists():
            data.mkdir(); out.mkdir()
            for i in range(10): color_photo(data/f'{i}.jpg', size=(80 + 4*i, 72), seed=i)
            r = colornb('train', '--data', data, '--pretrain-epochs', '1', '--gan-epochs', '1', '--out', out, *TINY,
                        '--preview-every', '1') # a preview after every batch too: test_train_writes_every_file looks for them
            result.write_text(json.dumps(dict(args=r.args, returncode=r.returncode, stdout=r.stdout, stderr=r.stderr)))
    r = subprocess.CompletedProcess(**json.loads(result.read_text()))
    assert r.returncode == 0, r.stderr
    return data, out, r

def without_root_powers(cmd:list)->list:
    """`cmd` run so that file permissions bind it: as root (CI runs as root), through `setpriv` without the capabilities
    that let root write into a read-only folder (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER); as anyone else, as it is."""
    if os.geteuid() != 0: return list(map(str, cmd))
    return ['setpriv', '--inh-caps=-all', '--bounding-set=-dac_override,-dac_read_search,-fowner', '--', *map(str, cmd)]

def read_only_folder(path:Path)->Path:
    "Make the folder `path`, readable but not writable (mode 0555)."
    path.mkdir(parents=True); path.chmod(0o555)
    return path
