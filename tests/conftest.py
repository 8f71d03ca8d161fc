import numpy as np, pytest
from pathlib import Path
from PIL import Image

REPO = Path(__file__).resolve().parents[1]

def colour_photo(path:Path, size=(96, 64), seed=0):
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
        colour_photo(tmp_path/('sub' if i == 9 else '.')/f'photo {i}.{ext}', size=(96 + 8*i, 64 + 4*i), seed=i)
    return tmp_path
