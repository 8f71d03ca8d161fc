"Draw images/pipeline.png, the README's picture of the colornb pipeline, from a shipped sample photo: `python images/make_pipeline.py`."
from pathlib import Path
import numpy as np, torch, matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt
from matplotlib.patches import FancyBboxPatch
from PIL import Image
from colornb.images import SAMPLES_PATH
from colornb.lab import rgb_to_L_ab, L_ab_to_rgb

def _tile(fig, rect, img, title, cmap=None, **kw):
    ax = fig.add_axes(rect); ax.imshow(img, cmap=cmap, **kw); ax.set_title(title, fontsize=10); ax.axis('off')
    return ax

def _box(fig, x, y, w, h, text, color):
    fig.patches.append(FancyBboxPatch((x, y), w, h, boxstyle='round,pad=0.01', transform=fig.transFigure, fc=color, ec='0.3'))
    fig.text(x + w/2, y + h/2, text, ha='center', va='center', fontsize=10)

def _arrow(fig, xy0, xy1, text=''):
    fig.add_artist(matplotlib.patches.FancyArrowPatch(xy0, xy1, transform=fig.transFigure, arrowstyle='-|>', mutation_scale=14, color='0.25'))
    if text: fig.text((xy0[0] + xy1[0])/2, (xy0[1] + xy1[1])/2 + 0.02, text, ha='center', fontsize=8, color='0.25')

def main(photo='palapeli_citrus-fruits.jpg', out=Path(__file__).parent/'pipeline.png'):
    img = Image.open(SAMPLES_PATH/photo).convert('RGB').resize((256, 256), Image.BICUBIC)
    rgb = torch.from_numpy(np.array(img)).permute(2, 0, 1)[None].float() / 255
    L, ab = rgb_to_L_ab(rgb)
    gray = L_ab_to_rgb(L, torch.zeros_like(ab))[0].permute(1, 2, 0)
    fig = plt.figure(figsize=(13, 4.6))
    fig.text(0.5, 0.95, 'colornb: photo → Lab → U-Net generator predicts ab from L → PatchGAN judges (L, ab) patches', ha='center', fontsize=12)
    _tile(fig, [0.0, 0.42, 0.14, 0.42], img, 'colour photo (sRGB)')
    _tile(fig, [0.17, 0.42, 0.14, 0.42], gray, 'L: the input', cmap='gray')
    _box(fig, 0.35, 0.5, 0.14, 0.26, 'Generator\nDynamicUnet\nResNet-18/34 body\n1 → 2 channels', '#cfe2f3')
    _tile(fig, [0.53, 0.6, 0.09, 0.26], ab[0, 0], 'a (true)', cmap='RdYlGn_r', vmin=-0.7, vmax=0.7)
    _tile(fig, [0.53, 0.32, 0.09, 0.26], ab[0, 1], 'b (true)', cmap='coolwarm', vmin=-0.7, vmax=0.7)
    _tile(fig, [0.66, 0.42, 0.14, 0.42], L_ab_to_rgb(L, ab)[0].permute(1, 2, 0), 'L + ab → colour')
    _box(fig, 0.84, 0.5, 0.15, 0.26, 'PatchDiscriminator\nconcat(L, ab) →\n30×30 real/fake logits', '#f4cccc')
    _arrow(fig, (0.14, 0.63), (0.17, 0.63), 'to Lab')
    _arrow(fig, (0.31, 0.63), (0.35, 0.63))
    _arrow(fig, (0.49, 0.63), (0.53, 0.63), 'ab')
    _arrow(fig, (0.62, 0.63), (0.66, 0.63))
    _arrow(fig, (0.80, 0.63), (0.84, 0.63))
    fig.text(0.5, 0.12, 'Stage 1: pretrain the generator with L1(ab, true ab) alone.    Stage 2: conditional GAN, generator loss = adversarial + 100 · L1.\n'
             'Prediction: ab predicted at a small size, upsampled and joined with the photo\'s own full-resolution L.', ha='center', fontsize=10)
    fig.savefig(out, dpi=100); print(f'wrote {out}')

if __name__ == '__main__': main()
