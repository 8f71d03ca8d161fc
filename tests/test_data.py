"The data pipeline as a user runs it: a folder of their own photos, default DataLoader workers, the CPU."
import warnings, pytest, torch
from PIL import Image
from colornb.data import colorization_dls

def test_folder_of_photos_gives_L_ab_batches(photo_folder):
    dls = colorization_dls(photo_folder, size=256, bs=4)   # default workers: real worker processes
    L, ab = dls.one_batch()
    assert L.shape == (4, 1, 256, 256)
    assert ab.shape == (4, 2, 256, 256)
    assert L.device.type == ('cuda' if torch.cuda.is_available() else 'cpu')
    assert L.dtype == ab.dtype == torch.float32
    assert -1 <= L.min()
    assert L.max() <= 1
    assert ab.abs().max() <= 1
    assert ab.abs().mean() > 0.01   # the photos have colour, so the targets do
    assert len(dls.train_ds) + len(dls.valid_ds) == 10

def test_bad_files_are_left_out_with_one_warning(photo_folder):
    (photo_folder/'broken.jpg').write_bytes(b'\xff\xd8\xff\xe0 not really a jpeg')
    (photo_folder/'empty.png').write_bytes(b'')
    Image.open(photo_folder/'photo 0.jpg').convert('L').save(photo_folder/'gray.png')
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        dls = colorization_dls(photo_folder, size=32, bs=2, num_workers=0)
    msgs = [str(x.message) for x in w if 'Left out' in str(x.message)]
    assert len(msgs) == 1
    assert 'Left out 3 of 13 files' in msgs[0]
    assert 'broken.jpg' in msgs[0]
    assert 'gray.png' in msgs[0]
    assert len(dls.train_ds) + len(dls.valid_ds) == 10

def test_sources_without_usable_photos_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='does not exist'): colorization_dls(tmp_path/'nowhere')
    with pytest.raises(FileNotFoundError, match='No image files in'): colorization_dls(tmp_path)
    (tmp_path/'a.jpg').write_text('text')
    with pytest.raises(ValueError, match=f'No usable colour photo in {tmp_path}: 1 file, 1 unreadable'): colorization_dls(tmp_path)
