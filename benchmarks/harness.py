"""What every benchmark section shares: timing, peak memory in a fresh process, the machine, table rows, output.

Timings are the best of the timed repeats (the least disturbed by other work on a shared machine).
Peak CPU memory is the peak RSS of a fresh subprocess per measurement; on a GPU, `torch.cuda.max_memory_allocated`.
"""
import datetime, json, os, platform, resource, shutil, socket, subprocess, sys, time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent # the repository
BENCHMARKS = ROOT/'benchmarks'

@dataclass
class RunOptions:
    "What the command line decided, for every section."
    quick:bool # tiny sizes: a smoke test of the script, not a measurement
    steps:int # timed training steps per measurement on the CPU (section 3)
    checkpoint:str # a generator .pt for section 4, or None for random weights
    tmp:Path # a scratch folder that is removed at the end of the run
    train_device:str # where section 3 trains: 'cpu', or 'cuda' with --gpu-only

IN_PROCESS = False # True under --quick: `isolated` measures in this process (faster; its memory figures mean nothing)

def log(*a):
    "Progress on stderr, so that stdout holds only the tables."
    print(*a, file=sys.stderr, flush=True)

# ---------------------------------------------------------------- timing and memory

def best_time(f, # called with no argument
              repeats:int, # timed calls
              warmup:int=1 # untimed calls first
             )->float: # seconds
    "Best wall time of `repeats` calls of `f`, after `warmup` calls."
    for _ in range(warmup): f()
    ts = []
    for _ in range(repeats):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    return min(ts)

def peak_rss_mb()->float:
    "This process's peak resident memory so far, in MB."
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

def _child_code(func)->str:
    "Python source that runs `func` of its benchmarks module in a fresh process and prints its dict after '@@'."
    mod = func.__module__
    return (f"import sys, json; sys.path[:0] = [{str(ROOT)!r}, {str(BENCHMARKS)!r}]; import harness, {mod}; "
            f"r = {mod}.{func.__name__}(**json.loads(sys.argv[1])); r['peak_rss_mb'] = harness.peak_rss_mb(); "
            f"print('@@' + json.dumps(r))")

def isolated(func, # a function of a module in benchmarks/ that returns a JSON-able dict
             **kwargs # its arguments, JSON-able
            )->dict: # what `func` returned, plus the process's 'peak_rss_mb'
    "Run `func(**kwargs)` in a fresh Python process, so that its peak RSS is its own."
    if IN_PROCESS: return {**func(**kwargs), 'peak_rss_mb': peak_rss_mb()}
    path = [str(ROOT)] + [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path))
    p = subprocess.run([sys.executable, '-c', _child_code(func), json.dumps(kwargs)], capture_output=True, text=True,
                       env=env)
    out = [l for l in p.stdout.splitlines() if l.startswith('@@')]
    if p.returncode or not out: raise RuntimeError(f"benchmark subprocess {func.__name__} failed:\n{p.stderr[-3000:]}")
    return json.loads(out[-1][2:])

# ---------------------------------------------------------------- inputs

def sample_photos()->list:
    "The photos shipped with colornb, sorted by name."
    from colornb.images import SAMPLES_PATH
    return sorted(SAMPLES_PATH.glob('*.jpg'))

def photo_folder(dst:Path, # created if needed
                 n:int, # how many photos
                 side:int=None # resize each to side×side; None: copy them as they are
                )->Path: # `dst`
    "`n` copies of the shipped sample photos in `dst`, at their own size or resized to `side`×`side`."
    from PIL import Image
    dst.mkdir(parents=True, exist_ok=True)
    photos = sample_photos()
    for i in range(n):
        src, f = photos[i % len(photos)], dst/f'{i:04d}.jpg'
        if side: Image.open(src).convert('RGB').resize((side, side), Image.BICUBIC).save(f, quality=90)
        else: shutil.copy(src, f)
    return dst

# ---------------------------------------------------------------- the machine

def _cpu_model()->str:
    "The CPU's model name from /proc/cpuinfo, else what `platform` knows."
    try: return next(l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name'))
    except Exception: return platform.processor() or platform.machine()

def _cpu_flags()->list:
    "The CPU's feature flags from /proc/cpuinfo (empty where there is none)."
    try: return next(l for l in open('/proc/cpuinfo') if l.startswith('flags')).split()
    except Exception: return []

def machine()->dict:
    "What the numbers were measured on."
    import torch
    flags = _cpu_flags()
    m = dict(host=socket.gethostname(), date=datetime.datetime.now().isoformat(timespec='seconds'), cpu=_cpu_model(),
             cores=len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count(),
             avx512_bf16='avx512_bf16' in flags, amx='amx_bf16' in flags, torch_threads=torch.get_num_threads(),
             python=platform.python_version(), torch=torch.__version__, gpu=None)
    try: import fastai; m['fastai'] = fastai.__version__
    except ImportError: m['fastai'] = None
    try: m['mem_gb'] = round(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30, 1)
    except (ValueError, OSError): pass
    if torch.cuda.is_available(): m['gpu'] = torch.cuda.get_device_name(0)
    return m

def machine_line(m:dict # from `machine`
                )->str:
    "The machine in one line, printed under the report's title."
    return (f"{m['date']} · {m['host']} · {m['cpu']} · {m['cores']} cores · {m['torch_threads']} torch threads · "
            f"AVX-512 BF16 {'yes' if m['avx512_bf16'] else 'no'} · Python {m['python']} · torch {m['torch']} · "
            f"fastai {m['fastai']}" + (f" · GPU {m['gpu']}" if m['gpu'] else ''))

# ---------------------------------------------------------------- rows, tables and the JSON file

def row(name:str, # what is measured
        value:float, # the absolute figure
        unit:str, # of `value`
        baseline:float=None, # the baseline's figure, in the same unit
        ratio:float=None, # colornb against the baseline
        target:float=None, # what `ratio` (when given, else `value`) must reach
        higher_is_better:bool=True, # the target is a minimum (True) or a maximum (False)
        note:str='' # printed under the table
       )->dict:
    "One line of a section's table; with a `target`, its 'pass' and the target as text ('≥ 5')."
    r = dict(name=name, value=value, unit=unit, baseline=baseline, ratio=ratio, target=target, note=note)
    if target is not None:
        x = ratio if ratio is not None else value
        r['pass'] = bool(x >= target if higher_is_better else x <= target)
        r['target'] = f"{'≥' if higher_is_better else '≤'} {target:g}"
    return r

def _cell(v)->str:
    "A table cell: floats to 4 significant digits, None empty."
    return '' if v is None else f'{v:.4g}' if isinstance(v, float) else str(v)

def print_table(title:str, # the section's heading
                rows:list # from `row`
               ):
    "Print `rows` as a markdown table under `title`, then their notes."
    print(f'\n## {title}\n')
    head = ['measurement', 'value', 'baseline', 'ratio', 'target', 'result']
    lines = [[r['name'], f"{_cell(r['value'])} {r['unit']}", _cell(r['baseline']), _cell(r['ratio']), r['target'] or '',
              ('PASS' if r['pass'] else 'FAIL') if 'pass' in r else ''] for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *lines)]
    for l in [head, ['-' * w for w in widths]] + lines:
        print('| ' + ' | '.join(str(x).ljust(w) for x, w in zip(l, widths)) + ' |')
    for r in rows:
        if r.get('note'): print(f"- {r['name']}: {r['note']}")
    sys.stdout.flush()

def write_results(results:dict, # machine, quick, sections, seconds
                  out:Path # folder, created if needed
                 )->Path: # the file written
    "Write `results` as JSON to `<out>/<host>-<date>.json`."
    out = Path(out); out.mkdir(parents=True, exist_ok=True)
    m = results['machine']
    fn = out/f"{m['host']}-{m['date'].replace(':', '')}.json"
    fn.write_text(json.dumps(results, indent=1, ensure_ascii=False))
    return fn
