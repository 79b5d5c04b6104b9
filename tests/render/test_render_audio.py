"""Audio: loudness measures against pyloudnorm/resample_poly, FluidSynth rendering, formats."""

from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import soundfile
import symusic
from scipy.signal import resample_poly

from cadence.evaluation.adherence import duration_seconds, wav_loudness
from cadence.render import audio, loudness, synth
from cadence.render.midi import to_midi

HAVE_AUDIO = shutil.which("fluidsynth") is not None and any(
    p.is_file() for p in audio.DEBIAN_SOUNDFONTS
)
needs_fluidsynth = pytest.mark.skipif(
    not HAVE_AUDIO, reason="needs `apt-get install fluidsynth fluid-soundfont-gm`"
)
RNG = np.random.default_rng(7)


def _signals() -> dict[str, tuple[np.ndarray, int]]:
    t = np.arange(3 * 44100) / 44100
    ramp = RNG.normal(size=(5 * 48000, 2)) * np.linspace(0.0, 0.3, 5 * 48000)[:, None]
    gated = np.concatenate([np.zeros((44100, 2)), RNG.normal(size=(88200, 2)) * 0.2])
    return {
        "sine-mono": (0.5 * np.sin(2 * np.pi * 997 * t), 44100),
        "noise-stereo": (RNG.normal(size=(2 * 44100, 2)) * 0.1, 44100),
        "ramp-48k": (ramp, 48000),
        "silence-then-noise": (gated, 44100),
        "quiet-tail": (np.concatenate([gated, gated * 1e-3]), 44100),
    }


SIGNALS = _signals()


@pytest.mark.parametrize("name", list(SIGNALS))
def test_integrated_lufs_matches_pyloudnorm(name: str) -> None:
    data, rate = SIGNALS[name]
    expected = pyloudnorm.Meter(rate).integrated_loudness(data)
    assert loudness.integrated_lufs(data, rate) == pytest.approx(expected, abs=1e-3)


def test_lufs_after_gain_is_exact_and_edge_cases() -> None:
    data, rate = SIGNALS["noise-stereo"]
    powers = loudness.block_powers(data, rate)
    scaled = loudness.integrated_lufs(data * 10 ** (-6.5 / 20), rate)
    assert powers.lufs(-6.5) == pytest.approx(scaled, abs=1e-9)
    assert math.isnan(loudness.integrated_lufs(np.ones((100, 2)) * 0.1, 44100))
    assert loudness.integrated_lufs(np.zeros((44100, 2)), 44100) == -math.inf


@pytest.mark.parametrize("name", list(SIGNALS))
def test_true_peak_matches_full_oversampling(name: str) -> None:
    data, _ = SIGNALS[name]
    up = np.abs(resample_poly(data, 4, 1, axis=0)).max()
    assert loudness.true_peak_dbtp(data) == pytest.approx(20 * math.log10(up), abs=1e-4)


def test_true_peak_finds_an_intersample_over_anywhere() -> None:
    data = np.zeros((100_003, 2))
    data[70_000:70_003, 1] = [0.5, -0.9, 0.5]  # alternating: the peak lies between samples
    data[-1, 0] = 0.95  # a louder sample at the very end
    up = np.abs(resample_poly(data, 4, 1, axis=0)).max()
    assert loudness.true_peak_dbtp(data) == pytest.approx(20 * math.log10(up), abs=1e-4)
    assert loudness.true_peak_dbtp(np.zeros((10, 2))) == -math.inf
    assert loudness.true_peak_dbtp(np.zeros((0, 2))) == -math.inf


def test_fades() -> None:
    data = np.ones((1000, 2), dtype=np.float32)
    audio.apply_fades(data, 100, 2.0, 3.0)
    assert data[0, 0] == 0.0 and data[-1, 1] == 0.0
    assert data[100, 0] == pytest.approx(0.5)
    assert np.all(data[200:700] == 1.0)
    assert data[850, 0] == pytest.approx(0.5, abs=0.01)


def test_missing_soundfont_is_audio_unavailable(tmp_path: Path) -> None:
    with pytest.raises(audio.AudioUnavailable) as err:
        audio.find_soundfont(tmp_path / "nope.sf2")
    message = str(err.value)
    assert "\n" not in message and "apt-get install fluidsynth fluid-soundfont-gm" in message
    assert isinstance(err.value, RuntimeError)
    with pytest.raises(audio.AudioUnavailable, match=r"nope\.sf2"):
        audio.to_wav(
            tmp_path / "x.mid", tmp_path / "x.wav", target_lufs=-20, soundfont=tmp_path / "nope.sf2"
        )


def test_soundfont_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sf2 = tmp_path / "mine.sf2"
    sf2.write_bytes(b"RIFF")
    monkeypatch.setenv(audio.SOUNDFONT_ENV, str(sf2))
    assert audio.find_soundfont() == sf2
    monkeypatch.setenv(audio.SOUNDFONT_ENV, str(tmp_path / "gone.sf2"))
    with pytest.raises(audio.AudioUnavailable, match="CADENCE_SOUNDFONT"):
        audio.find_soundfont()


def test_no_soundfont_anywhere(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(audio.SOUNDFONT_ENV, raising=False)
    monkeypatch.setattr(synth, "DEBIAN_SOUNDFONTS", (tmp_path / "none.sf2",))
    with pytest.raises(audio.AudioUnavailable, match="no General MIDI soundfont"):
        audio.find_soundfont()


def test_missing_fluidsynth_is_audio_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(synth.shutil, "which", lambda _name: None)
    with pytest.raises(audio.AudioUnavailable, match="fluidsynth program was not found"):
        audio.find_fluidsynth()


def _piece(seconds_per_bar: float = 2.0, bars: int = 6) -> symusic.Score:
    """Piano chords and a melody at 120 BPM (2 s a bar), with a drum beat."""
    tpq = 480
    score = symusic.Score(tpq)
    score.tempos.append(symusic.Tempo(0, 240.0 / seconds_per_bar))
    melody = symusic.Track("melody", 0, False)
    chords = symusic.Track("accompaniment", 48, False)
    drums = symusic.Track("beat", 0, True)
    for b in range(bars):
        for k in range(4):
            t = (b * 4 + k) * tpq
            melody.notes.append(symusic.Note(t, tpq, 72 + (k * 2 + b) % 7, 90))
            drums.notes.append(symusic.Note(t, tpq // 4, 37, 70))
        for p in (48, 52, 55):
            chords.notes.append(symusic.Note(b * 4 * tpq, 4 * tpq, p, 60))
    score.tracks.extend([melody, chords, drums])
    return score


@pytest.fixture(scope="module")
def midi_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return to_midi(_piece(), tmp_path_factory.mktemp("audio") / "piece.mid")


@needs_fluidsynth
@pytest.mark.parametrize("target", [-23.0, -18.0, -14.0], ids=["-23", "-18", "-14"])
def test_wav_meets_loudness_and_duration(midi_file: Path, target: float, tmp_path: Path) -> None:
    wav = tmp_path / "out.wav"
    result = audio.to_wav(midi_file, wav, target_lufs=target, fade_in_s=0.5, fade_out_s=1.0)
    data, rate = soundfile.read(str(wav), always_2d=True)
    assert rate == 44100 and data.shape[1] == 2
    measured = pyloudnorm.Meter(rate).integrated_loudness(data)
    assert abs(measured - target) <= 0.5
    assert measured <= target + 0.05
    assert result.lufs == pytest.approx(measured, abs=0.05)
    _, peak, duration = wav_loudness(wav)
    assert peak <= -1.0 + 0.01
    assert result.true_peak_dbtp == pytest.approx(peak, abs=0.05)
    assert abs(duration - duration_seconds(midi_file)) <= 1.0
    assert result.duration_s == pytest.approx(duration)
    assert abs(data[0]).max() < 1e-3  # faded in


@needs_fluidsynth
def test_peak_ceiling_lowers_the_gain(midi_file: Path, tmp_path: Path) -> None:
    result = audio.to_wav(midi_file, tmp_path / "q.wav", target_lufs=-10.0, peak_dbtp=-20.0)
    _, peak, _ = wav_loudness(tmp_path / "q.wav")
    assert peak <= -20.0 + 0.01
    assert result.lufs < -10.0 - 1.0  # quieter than the target, never louder


@needs_fluidsynth
@pytest.mark.parametrize(
    ("suffix", "fmt"), [(".flac", "FLAC"), (".ogg", "OGG")], ids=["flac", "ogg"]
)
def test_to_format(midi_file: Path, tmp_path: Path, suffix: str, fmt: str) -> None:
    wav = tmp_path / "s.wav"
    audio.to_wav(midi_file, wav, target_lufs=-20.0)
    out = audio.to_format(wav, tmp_path / f"s{suffix}")
    info, src = soundfile.info(str(out)), soundfile.info(str(wav))
    assert info.format == fmt and info.samplerate == src.samplerate
    assert abs(info.frames - src.frames) <= src.samplerate * 0.05


def test_to_format_rejects_unknown_suffix(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="mp3"):
        audio.to_format(tmp_path / "a.wav", tmp_path / "a.mp3")


@needs_fluidsynth
def test_missing_midi_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        audio.to_wav(tmp_path / "none.mid", tmp_path / "x.wav", target_lufs=-20.0)


@pytest.mark.parametrize("name", ["noise-stereo", "ramp-48k", "quiet-tail"])
def test_int16_samples_measure_as_their_float_values(name: str) -> None:
    """16-bit audio is measured without a float copy: the same figures as its float form."""
    data, rate = SIGNALS[name]
    pcm = np.clip(np.round(data * 32768), -32768, 32767).astype(np.int16)
    pcm[0, 0] = -32768  # the one value whose negation overflows int16
    as_float = pcm.astype(np.float64) / 32768
    assert loudness.integrated_lufs(pcm, rate) == pytest.approx(
        loudness.integrated_lufs(as_float, rate), abs=1e-9
    )
    assert loudness.true_peak_dbtp(pcm) == pytest.approx(
        loudness.true_peak_dbtp(as_float), abs=1e-4
    )


@pytest.mark.parametrize("target", [-20.0, -35.0])
def test_normalize_reports_what_a_fresh_measurement_finds(target: float) -> None:
    """The plain-gain path reuses the first measurement: it must equal measuring again."""
    data, rate = SIGNALS["noise-stereo"]
    out, lufs, peak = audio.normalize(data.astype(np.float32), rate, target, -1.0)
    assert lufs == pytest.approx(loudness.integrated_lufs(out, rate), abs=1e-4)
    assert peak == pytest.approx(loudness.true_peak_dbtp(out), abs=1e-4)
    assert lufs == pytest.approx(target, abs=0.05)


@needs_fluidsynth
def test_streamed_blocks_are_fluidsynths_wav_sample_for_sample(
    midi_file: Path, tmp_path: Path
) -> None:
    """The blocks read from fluidsynth's standard output hold exactly what its own WAV
    writer stores, with small blocks joined back in order."""
    sf2 = audio.find_soundfont()
    wav = tmp_path / "fs.wav"
    cmd = synth._command(midi_file, 44100, sf2)
    cmd[cmd.index("-T") + 1], cmd[cmd.index("-F") + 1] = "wav", str(wav)
    subprocess.run(cmd, check=True, capture_output=True)
    expected, _ = soundfile.read(str(wav), dtype="float32", always_2d=True)
    blocks = [
        b.copy() for b in synth.render_blocks(midi_file, sample_rate=44100, soundfont=sf2,
                                              block_frames=10_000)
    ]  # fmt: skip
    assert len(blocks) > 3 and all(len(b) == 10_000 for b in blocks[:-1])
    assert np.array_equal(np.concatenate(blocks), expected)


@needs_fluidsynth
@pytest.mark.parametrize("problem", ["not-midi", "missing-midi", "not-a-soundfont"])
def test_what_fluidsynth_cannot_play_is_a_render_error(
    problem: str, midi_file: Path, tmp_path: Path
) -> None:
    """fluidsynth exits 0 with silence for a file it cannot read: that is an error here."""
    sf2, midi = audio.find_soundfont(), midi_file
    if problem == "not-midi":
        midi = tmp_path / "bad.mid"
        midi.write_bytes(b"MThd this is not a MIDI file")
    elif problem == "missing-midi":
        midi = tmp_path / "none.mid"
    else:
        sf2 = tmp_path / "fake.sf2"
        sf2.write_bytes(b"RIFF....sfbk nothing here")
    with pytest.raises(synth.AudioRenderError, match=r"fluidsynth could not render .*\.mid"):
        list(synth.render_blocks(midi, sample_rate=44100, soundfont=sf2))


def test_pcm16_writer_rounds_clips_and_matches_libsndfile(tmp_path: Path) -> None:
    data = (RNG.normal(size=(300_001, 2)) * 0.3).astype(np.float32)
    data[:3, 0] = [1.5, -1.5, 1.0]  # beyond full scale: clipped, not wrapped
    audio.write_pcm16(tmp_path / "ours.wav", data, 44100, block=65_536)
    ours, rate = soundfile.read(str(tmp_path / "ours.wav"), dtype="int16", always_2d=True)
    assert rate == 44100 and ours.shape == data.shape
    assert list(ours[:3, 0]) == [32767, -32768, 32767]
    expected = np.clip(np.rint(data * 32768.0), -32768, 32767)
    assert np.array_equal(ours, expected.astype(np.int16))
    soundfile.write(str(tmp_path / "sf.wav"), np.clip(data, -1, 1), 44100, subtype="PCM_16")
    theirs, _ = soundfile.read(str(tmp_path / "sf.wav"), dtype="int16", always_2d=True)
    assert np.abs(ours.astype(np.int32) - theirs).max() <= 1  # rounding ties only


def test_normalize_meets_the_target_when_blocks_cross_the_gate() -> None:
    """A gain moves quiet blocks across the -70 LUFS gate (and so the relative gate), so one
    gain of target - loudness misses; the gain is solved on the block powers instead."""
    rng = np.random.default_rng(3)
    rate = 8000

    def noise(seconds: float, db: float) -> np.ndarray:
        return (rng.normal(size=(int(seconds * rate), 2)) * 10 ** (db / 20)).astype(np.float32)

    data = np.concatenate([noise(4, -22.78), noise(4, -33.60), noise(12, -77.71)])
    before = loudness.integrated_lufs(data, rate)
    target = before + 3.67
    naive = loudness.integrated_lufs(data * np.float32(10 ** (3.67 / 20)), rate)
    assert abs(naive - target) > 0.01  # this signal does cross the gate
    out, lufs, _ = audio.normalize(data, rate, target, 20.0)
    assert loudness.integrated_lufs(out, rate) == pytest.approx(target, abs=1e-3)
    assert lufs == pytest.approx(target, abs=1e-3)


@needs_fluidsynth
def test_stopping_a_stream_early_stops_fluidsynth(midi_file: Path) -> None:
    """A reader that stops after one block (an error in the mix, say) leaves no process."""
    blocks = synth.render_blocks(
        midi_file, sample_rate=44100, soundfont=audio.find_soundfont(), block_frames=1024
    )
    first = next(blocks)
    assert first.shape == (1024, 2)
    frame = blocks.gi_frame
    assert frame is not None
    proc = frame.f_locals["proc"]
    blocks.close()
    assert proc.poll() is not None  # killed and reaped, not left running
