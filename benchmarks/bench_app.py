"""The web app under several users: real browser sessions upload photos to `colornb app`, one after another each.

    python benchmarks/bench_app.py users                       # 1, 4 and 8 sessions: photos/s, p50/p95, peak memory
    python benchmarks/bench_app.py soak --sessions 4 --uploads 500   # memory over 500 uploads: the RSS curve, as a plot

Each browser session (its own Chromium context, as separate people) uploads colornb's 20 sample photos (300-768 px) in turn,
waits for the colorized result's download button, removes the photo, and goes on. The time of an upload is from giving the
file to the page to the download button showing. Memory is the resident memory of every process of the server (a parent
`colornb app` that only waits, if any, and the Streamlit server), read from /proc after every upload and every 0.5 s.
Needs Debian's `chromium` and the `playwright` package (the dev extras); it starts the server itself.
"""
import argparse, asyncio, json, os, shutil, signal, socket, subprocess, sys, time, urllib.request
from pathlib import Path
import numpy as np
try: from playwright.async_api import async_playwright, TimeoutError as PlaywrightTimeout
except ImportError: async_playwright = None # main says what to install

BENCHMARKS = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCHMARKS), str(BENCHMARKS.parent)]
import harness
from colornb.images import SAMPLES_PATH

CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')
FLAT_MB = 50 # the soak's memory is flat when its floors in the second half of the uploads are, on average, this close to the first half's
PEAK_MB = 2048 # the whole app's resident memory with 4 sessions, at most
DOWNLOAD = 'Download the colorized photo (PNG, full resolution)'

def free_port()->int:
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def process_tree(pid:int)->list:
    "`pid` and all its descendants, from /proc."
    parents = {}
    for d in Path('/proc').iterdir():
        try:
            if d.name.isdigit(): parents[int(d.name)] = int((d/'stat').read_text().rsplit(')', 1)[1].split()[1])
        except (OSError, IndexError, ValueError): pass
    tree, todo = [], [pid]
    while todo:
        p = todo.pop(); tree.append(p); todo += [c for c, pp in parents.items() if pp == p]
    return tree

def rss_mb(pid:int)->float:
    "Resident memory of process `pid` in MB (0 once it is gone)."
    try: status = Path(f'/proc/{pid}/status').read_text()
    except OSError: return 0.
    return next(int(l.split()[1]) for l in status.splitlines() if l.startswith('VmRSS:')) / 1024

def cpu_s(pid:int)->float:
    "CPU seconds (user + system) process `pid` has used so far (0 once it is gone)."
    try: fields = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
    except OSError: return 0.
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')

def machine_busy_s()->float:
    "CPU seconds every core of the machine has spent busy (not idle or waiting on I/O) since boot."
    t = [int(x) for x in Path('/proc/stat').read_text().split('\n', 1)[0].split()[1:]]
    return (sum(t) - t[3] - t[4]) / os.sysconf('SC_CLK_TCK')

def describe(pid:int)->str:
    "A short name for a server process: what it runs."
    try: args = Path(f'/proc/{pid}/cmdline').read_bytes().split(b'\0')
    except OSError: return '?'
    args = [a.decode() for a in args if a]
    return 'streamlit server' if 'streamlit' in args else ' '.join(Path(a).name for a in args[:4])

class Server:
    "`colornb app` started as a user would, in its own session; its processes and their memory."
    def __init__(self, checkpoint:str=None, env:dict=None):
        self.port = free_port()
        cmd = ['colornb', 'app', '--port', str(self.port), '--address', '127.0.0.1'] + (['--checkpoint', checkpoint] if checkpoint else [])
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                                     env={**os.environ, **(env or {})})
        self.url, self.names = f'http://127.0.0.1:{self.port}', {}
        for _ in range(240):
            try: urllib.request.urlopen(self.url + '/_stcore/health', timeout=2); break
            except OSError: time.sleep(0.5)
        else: raise RuntimeError('the app did not start within 2 minutes')
        self.started_mb = sum(self.memory().values()) # Streamlit serving, before any page ran the app's script
    def memory(self)->dict:
        "pid → RSS in MB, for every process of the server (each one's name kept in `names`)."
        pids = process_tree(self.proc.pid)
        for p in pids: self.names.setdefault(p, describe(p))
        return {p: rss_mb(p) for p in pids}
    def cpu_s(self)->float:
        "CPU seconds the server's processes have used so far."
        return sum(cpu_s(p) for p in process_tree(self.proc.pid))
    def stop(self):
        os.killpg(self.proc.pid, signal.SIGTERM)
        try: self.proc.wait(20)
        except subprocess.TimeoutExpired: os.killpg(self.proc.pid, signal.SIGKILL); self.proc.wait()

async def session(browser, url:str, photos:list, n:int, record, opened):
    "One person: `n` uploads of `photos` in turn, one at a time; `record(seconds, ok)` after each, `opened()` first."
    ctx = await browser.new_context()
    page = await ctx.new_page()
    await page.goto(url, timeout=120_000)
    await page.get_by_text('colornb: colour for black-and-white photos').wait_for(timeout=120_000)
    await page.get_by_text('Generator:').wait_for(timeout=120_000) # the model is loaded
    await opened()
    button = page.get_by_role('button', name=DOWNLOAD)
    for i in range(n):
        f = photos[i % len(photos)]
        t = time.perf_counter()
        await page.locator('input[type="file"]').set_input_files(str(f))
        ok = True
        try: await button.wait_for(state='visible', timeout=300_000) # waits in the page: no round trips to poll
        except PlaywrightTimeout: ok = False
        seconds = time.perf_counter() - t
        if await page.get_by_test_id('stException').count() or await page.get_by_test_id('stAlert').count(): ok = False
        await page.get_by_role('button', name=f'Remove {f.name}').click()
        await page.get_by_role('heading', name=f.name).wait_for(state='hidden', timeout=120_000)
        record(seconds, ok)
    await ctx.close()

async def drive(server:Server, sessions:int, uploads:int, every:float=0.5)->dict:
    "`sessions` browser sessions at once, `uploads` uploads in all; the times and the memory samples."
    photos = sorted(SAMPLES_PATH.glob('*.jpg'))
    times, samples, t0 = [], [], time.perf_counter()
    def record(seconds, ok):
        times.append((seconds, ok))
        samples.append(dict(t=time.perf_counter() - t0, uploads=len(times), rss=server.memory()))
        if len(times) % 25 == 0: harness.log(f'  {len(times)}/{uploads} uploads, {sum(samples[-1]["rss"].values()):.0f} MB')
    async def sample():
        while True:
            samples.append(dict(t=time.perf_counter() - t0, uploads=len(times), rss=server.memory()))
            await asyncio.sleep(every)
    pages_open, everyone = [], asyncio.Barrier(sessions)
    async def opened(): # every session waits for all the pages to be open before its first upload; the clock starts
        await everyone.wait()
        if not pages_open: pages_open.append((sum(server.memory().values()), time.perf_counter(), server.cpu_s(), machine_busy_s()))
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=['--no-sandbox', '--disable-gpu'])
        sampler = asyncio.create_task(sample())
        share = [uploads // sessions + (i < uploads % sessions) for i in range(sessions)]
        await asyncio.gather(*[session(browser, server.url, photos[i:] + photos[:i], n, record, opened)
                               for i, n in enumerate(share)])
        took = time.perf_counter() - pages_open[0][1] # from the first upload on: page loads and the model's not counted
        server_cpu, busy = server.cpu_s() - pages_open[0][2], machine_busy_s() - pages_open[0][3]
        sampler.cancel()
        await browser.close()
    return dict(times=times, samples=samples, seconds=took, started_mb=server.started_mb, pages_open_mb=pages_open[0][0],
                server_cpu_s=server_cpu, other_cpu_s=busy - server_cpu)

def summary(run:dict, sessions:int)->dict:
    "Photos per second, p50/p95 seconds to the result, failures and peak memory of one `drive`."
    secs = np.array([s for s, _ in run['times']])
    totals = [sum(s['rss'].values()) for s in run['samples']]
    by_pid = {}
    for s in run['samples']:
        for p, m in s['rss'].items(): by_pid[p] = max(by_pid.get(p, 0), m)
    return dict(sessions=sessions, uploads=len(secs), failed=sum(not ok for _, ok in run['times']),
                started_mb=run['started_mb'], pages_open_mb=run['pages_open_mb'],
                photos_per_s=len(secs) / run['seconds'], p50_s=float(np.percentile(secs, 50)),
                p95_s=float(np.percentile(secs, 95)), peak_mb=max(totals), peak_mb_by_process=by_pid,
                server_cpu_per_photo=run['server_cpu_s'] / len(secs), other_cpu_per_photo=run['other_cpu_s'] / len(secs),
                cores_busy=(run['server_cpu_s'] + run['other_cpu_s']) / run['seconds'])

def floors(run:dict, window:int=50)->list:
    "(uploads done, lowest total RSS over the last `window` uploads' samples): a leak raises the floor, noise does not."
    per_upload = [(s['uploads'], sum(s['rss'].values())) for s in run['samples']]
    n = max(u for u, _ in per_upload)
    return [(k, min(m for u, m in per_upload if k - window < u <= k)) for k in range(window, n + 1, window)]

def plot_soak(run:dict, out:Path, title:str, before:dict=None):
    "The server's total RSS against uploads done (and `before`'s, when given), saved as a PNG."
    import matplotlib; matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for r, label in ((before, 'before'), (run, 'after')) if before else ((run, title),):
        ax.plot([s['uploads'] for s in r['samples']], [sum(s['rss'].values()) for s in r['samples']], lw=0.8, label=label)
        fl = floors(r)
        ax.plot([u for u, _ in fl], [m for _, m in fl], 'o--', ms=3, label=f'{label}: floor of each 50 uploads')
    ax.set_xlabel('uploads done (all sessions)'); ax.set_ylabel('server RSS, all processes (MB)')
    ax.set_title(title); ax.grid(alpha=0.3); ax.legend()
    fig.tight_layout(); fig.savefig(out, dpi=110); plt.close(fig)

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('mode', choices=['users', 'soak'])
    ap.add_argument('--sessions', type=int, nargs='+', default=None, help='browser sessions at once (users: 1 4 8; soak: 4)')
    ap.add_argument('--uploads', type=int, default=None, help='uploads per run (users: 8 per session, at least 16; soak: 500)')
    ap.add_argument('--checkpoint', default=None, help='the generator the app serves (default: the shipped model)')
    ap.add_argument('--out', type=Path, default=BENCHMARKS/'results', help='folder for the JSON and the plot')
    ap.add_argument('--label', default='', help='a name for this run in the output files (e.g. before, after)')
    ap.add_argument('--before', type=Path, default=None, help='a soak JSON to draw beside this one')
    args = ap.parse_args(argv)
    if not (CHROMIUM and async_playwright):
        sys.exit('bench_app: needs chromium (apt-get install chromium) and playwright (pip install -e ".[dev]")')
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out/f"app-{args.mode}{'-' + args.label if args.label else ''}-{harness.machine()['date']}"
    res = dict(machine=harness.machine(), mode=args.mode, runs=[])
    for n in args.sessions or ([1, 4, 8] if args.mode == 'users' else [4]):
        uploads = args.uploads or (max(16, 8 * n) if args.mode == 'users' else 500)
        harness.log(f'{n} session(s), {uploads} uploads')
        server = Server(args.checkpoint)
        try: run = asyncio.run(drive(server, n, uploads))
        finally: server.stop()
        s = summary(run, n)
        s['processes'] = {str(p): server.names.get(p, '?') for p in s['peak_mb_by_process']}
        res['runs'].append(dict(summary=s, floors=floors(run), run=run if args.mode == 'soak' else None))
        harness.log(f"  {s['photos_per_s']:.2f} photos/s, p50 {s['p50_s']:.2f} s, p95 {s['p95_s']:.2f} s, "
                    f"peak {s['peak_mb']:.0f} MB, {s['failed']} failed; CPU s per photo: server {s['server_cpu_per_photo']:.2f}, "
                    f"the rest {s['other_cpu_per_photo']:.2f}; {s['cores_busy']:.2f} cores busy")
    base = res['runs'][0]['summary']['photos_per_s']
    print(f"| sessions | uploads | failed | photos/s | × 1 session | p50 s | p95 s | MB serving | MB pages open | peak MB "
          "| server CPU s/photo | browsers' CPU s/photo | cores busy |\n" + "|---:" * 13 + "|")
    for r in res['runs']:
        s = r['summary']
        print(f"| {s['sessions']} | {s['uploads']} | {s['failed']} | {s['photos_per_s']:.2f} | {s['photos_per_s'] / base:.2f} | "
              f"{s['p50_s']:.2f} | {s['p95_s']:.2f} | {s['started_mb']:.0f} | {s['pages_open_mb']:.0f} | {s['peak_mb']:.0f} | "
              f"{s['server_cpu_per_photo']:.2f} | {s['other_cpu_per_photo']:.2f} | {s['cores_busy']:.2f} |")
    print("(MB: resident memory of all the server's processes together; serving: started, no page open yet; pages open: "
          "every session's page drawn and the model loaded, before the first upload; peak: the most during the uploads. "
          "CPU: seconds of CPU time per photo, from the first upload to the last, used by the server's processes and by "
          "everything else on the machine (the browsers, this script); cores busy: both together per second of the run)")
    if args.mode == 'users' and len(res['runs']) > 1:
        worst = min(r['summary']['photos_per_s'] / base for r in res['runs'][1:])
        print(f"several sessions against one: at least {worst:.2f}× one session's photos per second (target: at least "
              f"1.00×, sessions do not slow each other below one user's throughput) {'PASS' if worst >= 1 else 'FAIL'}")
    if args.mode == 'soak':
        r = res['runs'][0]
        print('floors (uploads: lowest MB over the last 50):', ', '.join(f'{u}: {m:.0f}' for u, m in r['floors']))
        half = len(r['floors']) // 2
        rise = np.mean([m for _, m in r['floors'][half:]]) - np.mean([m for _, m in r['floors'][:half]])
        print(f"floor's rise, second half of the uploads against the first: {rise:+.0f} MB (target: under {FLAT_MB} MB) "
              f"{'PASS' if rise < FLAT_MB else 'FAIL'}; peak {r['summary']['peak_mb']:.0f} MB (target: at most "
              f"{PEAK_MB} MB) {'PASS' if r['summary']['peak_mb'] <= PEAK_MB else 'FAIL'}")
        before = json.loads(args.before.read_text())['runs'][0]['run'] if args.before else None
        plot_soak(r['run'], stem.with_suffix('.png'), f"colornb app, {r['summary']['sessions']} browser sessions", before)
    stem.with_suffix('.json').write_text(json.dumps(res))
    harness.log(f'written {stem}.json' + (f' and {stem}.png' if args.mode == 'soak' else ''))

if __name__ == '__main__': main()
