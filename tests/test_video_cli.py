"""`colornb colorize` on videos: the colorized file keeps the input's frames, timing and sound, and a phone's portrait
clip comes out upright; videos in folders are colorized like their photos; a broken video is one line and leaves nothing
behind. One run of the command serves most tests, through `colornb.cli.main` in this process (starting Python with torch
and fastai is the slow part)."""
import av, pytest, torch
from conftest import colornb_here
from colornb.video import sample_clip, video_info, open_video, demux_video, flicker
from colornb.images import image_tensor
from colornb.lab import rgb_to_lab

@pytest.fixture(scope='module')
def inputs(tmp_path_factory):
    """A tiny untrained generator; the sample clip (48 frames at 96×64: a pan, a cut, a still shot; a tone) and a shorter one,
    a photo, a clip cut short (its index at the front, as for streaming, and 60 % of its bytes gone), a text file named
    like a video, and a folder (an album) holding a phone's portrait clip (16 frames stored at 64×32, turned -90°
    by its display matrix), a clip named like the first one in a subfolder, the photo and a text file named like a
    video."""
    from colornb.generator import build_generator
    from colornb.checkpoint import save_generator
    d = tmp_path_factory.mktemp('inputs')
    torch.manual_seed(0)
    save_generator(build_generator(size=64, pretrained=False), d/'generator.pt')
    sample_clip(d/'old film.mp4')
    sample_clip(d/'short film.mp4', frames=16) # 8 frames of pan, then 8 still
    with open_video(d/'old film.mp4') as inp: next(demux_video(inp, 'clip', audio=False)).to_image().save(d/'still.png')
    with av.open(str(d/'old film.mp4')) as i, av.open(str(d/'indexed.mp4'), 'w', options={'movflags': '+faststart'}) as o:
        streams = {s.index: o.add_stream_from_template(s) for s in i.streams}
        for p in i.demux():
            if p.dts is not None: p.stream = streams[p.stream.index]; o.mux(p)
    data = (d/'indexed.mp4').read_bytes()
    (d/'cut short.mp4').write_bytes(data[:len(data) * 4 // 10])
    (d/'notes.mkv').write_text('not a video')
    album = d/'album'
    (album/'trip').mkdir(parents=True)
    sample_clip(album/'portrait.mp4', frames=16, size=(64, 32), audio=False, rotation=-90) # as a phone held upright
    sample_clip(album/'trip'/'old film.mp4', frames=16, size=(64, 32), audio=False)
    (album/'still.png').write_bytes((d/'still.png').read_bytes())
    (album/'broken.mov').write_text('not a video')
    return d

@pytest.fixture(scope='module')
def run(inputs, tmp_path_factory):
    "`colornb colorize` on all of them at once."
    out = tmp_path_factory.mktemp('out')
    r = colornb_here('colorize', inputs/'old film.mp4', inputs/'still.png', inputs/'cut short.mp4', inputs/'notes.mkv',
                     inputs/'album', '--out', out, '--checkpoint', inputs/'generator.pt', '--size', '32')
    return r, out

def frames(path)->torch.Tensor:
    "All the frames of a video, RGB in [0,1], (T,3,H,W)."
    with open_video(path) as inp: return torch.cat([image_tensor(f.to_image()) for f in demux_video(inp, path, audio=False)])

def lightness(frames:torch.Tensor)->torch.Tensor:
    "The lightness (0-100) of RGB frames (T,3,H,W), as (T,H,W)."
    return rgb_to_lab(frames)[:, 0]

def test_the_colorized_video_keeps_frames_timing_and_sound(inputs, run):
    r, out = run
    assert str(out/'old film.mp4') in r.stdout.splitlines()
    info, original = video_info(out/'old film.mp4'), video_info(inputs/'old film.mp4')
    assert info['frames'] == original['frames'] == 48
    assert info['size'] == original['size'] == (96, 64)
    assert info['fps'] == original['fps'] == 24
    assert info['seconds'] == original['seconds'] == 2.0
    assert info['audio'] == original['audio'] == ['aac']
    assert rgb_to_lab(frames(out/'old film.mp4'))[:, 1:].norm(dim=1).mean() > 2 # colour, from gray frames

def test_photos_and_videos_go_together(run):
    r, out = run
    assert r.stdout.splitlines() == [str(out/n) for n in ['still.png', 'still-colorized.png', # photos, then videos
                                                          'old film.mp4', 'portrait.mp4', 'old film-colorized.mp4']]
    assert 'Colorized 5 of 8 files' in r.stderr

def test_videos_in_folders_are_colorized_like_photos(inputs, run):
    r, out = run
    written = r.stdout.splitlines()
    assert str(out/'portrait.mp4') in written # album/portrait.mp4
    assert str(out/'old film-colorized.mp4') in written # album/trip/old film.mp4: the first old film.mp4 has the name
    assert video_info(out/'old film-colorized.mp4')['frames'] == 16
    assert str(out/'still-colorized.png') in written # the album's photo, as before

def test_a_phone_portrait_clip_comes_out_upright(inputs, run):
    r, out = run
    src, dst = inputs/'album'/'portrait.mp4', out/'portrait.mp4'
    with av.open(str(src)) as inp: assert next(inp.decode(video=0)).rotation == -90 # the file says: turn it clockwise
    with av.open(str(dst)) as inp: assert next(inp.decode(video=0)).rotation == 0 # turned already: nothing left to turn
    assert video_info(dst)['size'] == video_info(src)['size'] == (32, 64) # portrait, as players show the input
    stored, upright = lightness(frames(src)), lightness(frames(dst))
    assert stored.shape == (16, 32, 64)
    assert upright.shape == (16, 64, 32)
    assert (upright - stored.rot90(-1, dims=(1, 2))).abs().mean() < 2 # a quarter turn clockwise (the other way: 15)

def test_broken_videos_are_one_line_and_leave_nothing(inputs, run):
    r, out = run
    assert r.returncode == 1
    assert 'Traceback' not in r.stderr
    errors = [l for l in r.stderr.splitlines() if l.startswith('colornb colorize: ')]
    assert len(errors) == 3, r.stderr
    assert f"{inputs/'cut short.mp4'}: the video stops after frame" in errors[0]
    assert f"{inputs/'notes.mkv'}: not a video FFmpeg can read" in errors[1]
    assert f"{inputs/'album'/'broken.mov'}: not a video FFmpeg can read" in errors[2] # found in a folder
    assert sorted(p.name for p in out.iterdir()) == ['old film-colorized.mp4', 'old film.mp4', 'portrait.mp4',
                                                     'still-colorized.png', 'still.png'] # no temporary file

def test_smoothing_lowers_flicker_and_turns_off(inputs, tmp_path):
    from colornb.cli import main # in this process: two more starts of Python would double the time
    for smooth in ['0', '0.6']:
        assert main(['colorize', str(inputs/'short film.mp4'), '--out', str(tmp_path/smooth), '--checkpoint',
                     str(inputs/'generator.pt'), '--size', '64', '--smooth', smooth]) == 0
    raw, smoothed = (flicker(frames(tmp_path/s/'short film.mp4')[9:]) for s in ['0', '0.6']) # the still shot
    assert smoothed < raw
