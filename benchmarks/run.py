"""colornb benchmarks: one command, ratios against baselines run in the same process.

    PYTHONPATH=. python benchmarks/run.py                 # sections 1-4, 6 and 7 on the CPU (and 5 when CUDA is there)
    PYTHONPATH=. python benchmarks/run.py --quick         # tiny sizes: a smoke test of the script itself
    PYTHONPATH=. python benchmarks/run.py --gpu-only      # sections 3 and 5 on CUDA
    PYTHONPATH=. python benchmarks/run.py --only lab,infer --out /tmp/results

Each section prints a table: the absolute figures, the ratio against its baseline, the target and PASS/FAIL.
Everything is also written as JSON to `<out>/<host>-<date>.json` with a description of the machine.
The sections are `bench_*.py` beside this file; what they share (timing, memory, rows, tables) is `harness.py`.
"""
import argparse, sys, tempfile, time
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent
if str(BENCHMARKS) not in sys.path: sys.path.insert(0, str(BENCHMARKS))
if str(BENCHMARKS.parent) not in sys.path: sys.path.insert(0, str(BENCHMARKS.parent))
import torch
import harness
import bench_lab, bench_data, bench_train, bench_infer, bench_gpu, bench_onnx, bench_cpu_recipe

SECTIONS = dict(lab=bench_lab, data=bench_data, train=bench_train, infer=bench_infer, gpu=bench_gpu,
                onnx=bench_onnx, cpu_recipe=bench_cpu_recipe) # in run order

def parser()->argparse.ArgumentParser:
    "The command line's flags."
    ap = argparse.ArgumentParser(description='colornb benchmarks')
    ap.add_argument('--quick', action='store_true', help='tiny sizes: a smoke test of the script, not a measurement')
    ap.add_argument('--only', default=None, help=f"comma-separated sections: {','.join(SECTIONS)}")
    ap.add_argument('--gpu-only', action='store_true', help='sections 3 and 5 on CUDA only')
    ap.add_argument('--out', default=str(BENCHMARKS/'results'), help='folder for the JSON results')
    ap.add_argument('--steps', type=int, default=3,
                    help='timed training steps per measurement on the CPU (after 1 warm-up step)')
    ap.add_argument('--checkpoint', default=None, help='a generator .pt for section 4 (default: random weights)')
    return ap

def chosen_sections(ap:argparse.ArgumentParser, # for its usage errors (exit status 2)
                    args:argparse.Namespace, # parsed by `ap`
                    cuda:bool # whether CUDA is available
                   )->list: # section names, in run order
    "The sections that `--only` or `--gpu-only` ask for, without 'gpu' where there is no CUDA, nor 'onnx' without onnxruntime."
    sections = args.only.split(',') if args.only else ['train', 'gpu'] if args.gpu_only else list(SECTIONS)
    if bad := set(sections) - set(SECTIONS):
        ap.error(f"unknown sections {', '.join(sorted(bad))}: choose from {', '.join(SECTIONS)}")
    if 'gpu' in sections and not cuda:
        if args.gpu_only or args.only: ap.error('section gpu needs CUDA, and torch.cuda.is_available() is False')
        sections.remove('gpu')
    if 'onnx' in sections and not bench_onnx.available():
        if args.only: ap.error("section onnx needs onnx, onnxruntime and onnxscript: pip install -e '.[onnx]'")
        sections.remove('onnx')
    return sections

def heading(name:str, opts:harness.RunOptions)->str:
    "The printed title of section `name`; section 3 also says where it trained."
    title = SECTIONS[name].TITLE
    return f'{title} ({opts.train_device})' if name == 'train' else title

def main(argv=None)->Path:
    "Run the chosen sections, print their tables and write the JSON file; its path."
    ap = parser()
    args = ap.parse_args(argv)
    cuda = torch.cuda.is_available()
    sections = chosen_sections(ap, args, cuda)
    harness.IN_PROCESS = args.quick
    m = harness.machine()
    print('# colornb benchmarks' + (' (--quick: sizes too small to mean anything)' if args.quick else ''))
    print(f'\n{harness.machine_line(m)}')
    results, t0 = dict(machine=m, quick=args.quick, sections={}), time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        opts = harness.RunOptions(quick=args.quick, steps=args.steps, checkpoint=args.checkpoint, tmp=Path(tmp),
                                  train_device='cuda' if args.gpu_only and cuda else 'cpu')
        for name in sections:
            section = SECTIONS[name]
            harness.log(f'{section.TITLE} ...'); ts = time.perf_counter()
            rows = section.measure(opts)
            harness.print_table(heading(name, opts), rows)
            results['sections'][name] = dict(title=section.TITLE, seconds=time.perf_counter() - ts, rows=rows)
    results['seconds'] = time.perf_counter() - t0
    fn = harness.write_results(results, args.out)
    print(f"\nTotal {results['seconds']:.0f} s. Results written to {fn}")
    return fn

if __name__ == '__main__': main()
