"""colornb's layers: each notebook exports one module, and a module (or a notebook) imports only modules of earlier notebooks,
at the top, never inside a function. The order is the notebooks' numbers: `07a_` sits between `07_` and `08_`, as in fastai's
own notebooks."""
import ast, json, re
from pathlib import Path
from conftest import REPO

NBS, PKG = REPO/'nbs', REPO/'colornb'

def notebook_modules()->dict:
    "module name → (position, notebook path), from each numbered notebook's `#| default_exp`; `07a` is position (7, 'a')."
    mods = {}
    for nb in sorted(NBS.glob('[0-9][0-9]*_*.ipynb')):
        number = re.match(r'(\d\d)([a-z]?)_', nb.name)
        assert number, f"{nb.name}: a notebook's name is its number (two digits, maybe a letter), '_' and its subject"
        src = [''.join(c['source']) for c in json.loads(nb.read_text())['cells'] if c['cell_type'] == 'code']
        exps = [m for s in src for m in re.findall(r'^#\|\s*default_exp\s+(\S+)', s, re.M)]
        assert len(exps) == 1, f"{nb.name} must export exactly one module, it names {exps}"
        assert exps[0] not in mods, f"{nb.name} and {mods[exps[0]][1].name} both export {exps[0]}"
        mods[exps[0]] = ((int(number[1]), number[2]), nb)
    return mods

def colornb_imports(source:str)->list:
    "(module, line, inside a function) for each import of a colornb module in `source`."
    found = []
    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            names = []
            if isinstance(child, ast.Import): names = [a.name for a in child.names]
            elif isinstance(child, ast.ImportFrom):
                base = ('colornb.' if child.level else '') + (child.module or '')
                names = [f'{base}.{a.name}' if base in ('colornb', 'colornb.') else base for a in child.names]
            for n in names:
                parts = n.strip('.').split('.')
                if parts[0] == 'colornb' and len(parts) > 1: found.append((parts[1], child.lineno, inner))
            visit(child, inner)
    visit(ast.parse(source), False)
    return found

def test_every_numbered_notebook_exports_one_module_in_the_package():
    mods = notebook_modules()
    assert len(mods) >= 17
    for mod in mods: assert (PKG/f'{mod}.py').exists(), f"{mod}.py is not exported"
    exported = {p.stem for p in PKG.glob('*.py')} - {'__init__', '_modidx', '__main__'}
    assert exported <= set(mods), f"modules without a notebook: {exported - set(mods)}"

def test_modules_import_only_earlier_modules_at_the_top():
    mods = notebook_modules()
    problems = []
    for mod, (pos, _) in mods.items():
        for dep, line, in_function in colornb_imports((PKG/f'{mod}.py').read_text()):
            if dep not in mods: problems.append(f"colornb/{mod}.py:{line} imports colornb.{dep}, which no notebook exports")
            elif mods[dep][0] >= pos: problems.append(f"colornb/{mod}.py:{line} imports colornb.{dep}, a later (or the same) layer")
            elif in_function: problems.append(f"colornb/{mod}.py:{line} imports colornb.{dep} inside a function")
    assert not problems, '\n'.join(problems)

def test_notebooks_use_only_earlier_modules():
    mods = notebook_modules()
    problems = []
    for mod, (pos, nb) in mods.items():
        for i, cell in enumerate(json.loads(nb.read_text())['cells']):
            if cell['cell_type'] != 'code': continue
            src = '\n'.join(l for l in ''.join(cell['source']).splitlines() if not l.lstrip().startswith(('%', '!')))
            for dep, line, _ in colornb_imports(src):
                if dep in mods and mods[dep][0] > pos: problems.append(f"{nb.name} cell {i} imports colornb.{dep} ({mods[dep][1].name})")
    assert not problems, '\n'.join(problems)

def reachable(mod:str, mods:dict)->set:
    "The colornb modules that importing `mod` imports, itself included, following top-level imports."
    seen, todo = set(), [mod]
    while todo:
        m = todo.pop()
        if m in seen or m not in mods: continue
        seen.add(m)
        todo += [dep for dep, _, in_function in colornb_imports((PKG/f'{m}.py').read_text()) if not in_function]
    return seen

TRAINING = {'training', 'pretrain', 'gan', 'train'} # fastai's Learner, its callbacks, the two stages

def test_colorizing_imports_no_training_machinery():
    "Colorizing, the web app and ONNX export pick a device and precision (`colornb.device`) without the training modules."
    mods = notebook_modules()
    for serving in ('predict', 'video', 'app', 'deploy'):
        got = reachable(serving, mods)
        assert 'device' in got or serving == 'deploy', (serving, got)
        assert not got & TRAINING, f"importing colornb.{serving} imports {sorted(got & TRAINING)}"
    assert reachable('cli', mods) >= TRAINING                  # the check itself: the command line trains, so it sees them

def test_the_import_check_sees_a_cycle():
    "The check itself: a back edge, a lazy import and a relative import are each found."
    src = "from colornb.cli import main\nimport colornb.lab\nfrom .data import x\ndef f():\n    from colornb.predict import colorize\n"
    assert colornb_imports(src) == [('cli', 1, False), ('lab', 2, False), ('data', 3, False), ('predict', 5, True)]
