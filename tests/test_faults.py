"Faults during training, as a user meets them: the process killed (SIGKILL) or interrupted (Ctrl-C, SIGINT) mid-epoch, a disk that fills up."
import os, shutil, signal, subprocess, sys, time, torch, pytest
from conftest import TINY, COLORNB

def _wait_for_epoch(run, proc, stage='gan', epoch=1, timeout=240):
    """Poll until `run/model.pt` records `epoch` epochs of `stage` (saves are atomic, so every read sees a whole file);
    the file, hundreds of MB, is read only when it has changed."""
    t0, seen = time.time(), None
    while time.time() - t0 < timeout:
        assert proc.poll() is None, proc.stderr.read()
        stat = (run/'model.pt').stat() if (run/'model.pt').exists() else None
        if stat and (stat.st_mtime_ns, stat.st_size, stat.st_ino) != seen:
            seen = stat.st_mtime_ns, stat.st_size, stat.st_ino
            s = torch.load(run/'model.pt', weights_only=True)
            if s['stage'] == stage and s['epoch'] >= epoch: return s
        time.sleep(0.2)
    pytest.fail(f'no {stage} epoch {epoch} checkpoint within {timeout} s')

def _ctrl_c_as_in_a_terminal():
    "In the child before it starts: SIGINT's default action, which a runner in the background (`nohup pytest &`) ignores."
    signal.signal(signal.SIGINT, signal.SIG_DFL)

def _start(data, gan_epochs, *args, pretrain_epochs=1, home=None):
    "Start `colornb train` on `data` with `args`, Ctrl-C reaching it as in a terminal; `home` sets COLORNB_HOME."
    env = dict(os.environ, **({'COLORNB_HOME': str(home)} if home else {}))
    return subprocess.Popen([*COLORNB, 'train', '--data', str(data), '--pretrain-epochs', str(pretrain_epochs),
                             '--gan-epochs', str(gan_epochs), *map(str, args), *TINY], preexec_fn=_ctrl_c_as_in_a_terminal,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)

def test_sigkill_mid_epoch_loses_no_completed_epoch(trained, tmp_path):
    data, out, _ = trained
    run = tmp_path/'run'; shutil.copytree(out, run)   # the shared run, one GAN epoch done, goes on to three
    proc = _start(data, 3, '--out', run, '--resume', run/'model.pt')
    _wait_for_epoch(run, proc, epoch=2)
    time.sleep(0.5)                                   # into the next epoch
    proc.send_signal(signal.SIGKILL); proc.wait(30)
    saved = torch.load(run/'model.pt', weights_only=True)   # whole and loadable
    assert saved['stage'] == 'gan'
    assert saved['epoch'] >= 2
    assert len(saved['history']['gan']['g_l1']) == 2 * saved['epoch']
    r = subprocess.run([*COLORNB, 'train', '--data', str(data), '--pretrain-epochs', '1', '--gan-epochs', '3',
                        '--out', str(run), '--resume', str(run/'model.pt'), *TINY], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    final = torch.load(run/'model.pt', weights_only=True)
    assert final['epoch'] == 3
    assert len(final['history']['gan']['g_l1']) == 2 * 3   # every epoch exactly once
    assert not list(run.glob('.*.tmp'))                                              # no temporary file left behind

def test_ctrl_c_saves_the_training_state(trained, tmp_path):
    "Ctrl-C in a GAN-only run (--pretrain-epochs 0) in the default output folder, $COLORNB_HOME/train."
    data, _, _ = trained
    run = tmp_path/'train'
    proc = _start(data, 50, pretrain_epochs=0, home=tmp_path)
    _wait_for_epoch(run, proc)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(120) == 130
    err = proc.stderr.read().strip().splitlines()[-1]
    assert err == f"colornb train: interrupted; the training state was saved to {run/'interrupted.pt'} (continue with --resume {run/'interrupted.pt'})"
    state = torch.load(run/'interrupted.pt', weights_only=True)
    assert state['stage'] == 'gan'
    assert state['epoch'] >= 1
    assert torch.load(run/'model.pt', weights_only=True)['epoch'] <= state['epoch']
    assert len(state['history']['gan']['g_l1']) == 2 * state['epoch']                 # losses of completed epochs only
    assert (run/'generator.pt').exists()
    assert not (run/'generator_pretrained.pt').exists()  # no stage 1, no stage-1 file

@pytest.fixture
def python_ctrl_c():
    "Python's own SIGINT handler for the test, whatever the runner inherited (a background job ignores SIGINT)."
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)

def test_ctrl_c_during_a_save_waits_for_the_file(tmp_path, python_ctrl_c):
    from colornb.checkpoint import save_pt, deferred_ctrl_c
    done = []
    with pytest.raises(KeyboardInterrupt):
        with deferred_ctrl_c():
            os.kill(os.getpid(), signal.SIGINT)
            save_pt({'format': 'test', 'x': torch.zeros(1000)}, tmp_path/'a.pt')
            done.append(True)
    assert done
    assert torch.load(tmp_path/'a.pt', weights_only=True)['format'] == 'test'
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler      # the usual handler is back

FULL_DISK = '''
import errno, sys, torch
real_save, model_saves = torch.save, []
def save(obj, f, *args, **kwargs):
    "torch.save, failing as on a full disk from the second training checkpoint (model.pt) on."
    if obj.get('format') == 'colornb-model':
        model_saves.append(obj['epoch'])
        if len(model_saves) >= 2: raise OSError(errno.ENOSPC, 'No space left on device')
    return real_save(obj, f, *args, **kwargs)
torch.save = save
from colornb.cli import main
sys.exit(main(sys.argv[1:]))
'''

def test_full_disk_during_training_keeps_the_previous_checkpoint(trained, tmp_path):
    data, _, _ = trained
    run = tmp_path/'run'
    r = subprocess.run([sys.executable, '-c', FULL_DISK, 'train', '--data', str(data), '--pretrain-epochs', '2', '--gan-epochs', '0', '--out', str(run), *TINY],
                       capture_output=True, text=True)
    print(r.stderr.strip().splitlines()[-1])
    assert r.returncode == 1
    assert 'Traceback' not in r.stderr
    assert 'Exception occured' not in r.stderr
    assert r.stderr.strip().splitlines()[-1] == (f"colornb train: error: Cannot write {run/'model.pt'}: No space left on device; "
                                                 "the previous file, if any, is unchanged")
    state = torch.load(run/'model.pt', weights_only=True)                           # whole, and still the end of epoch 1
    assert (state['stage'], state['epoch']) == ('pretrain', 1)
    assert len(state['history']['pretrain']['valid_l1']) == 1
    assert not list(run.glob('.*.tmp'))
    assert not (run/'interrupted.pt').exists()      # no temporary file left behind
