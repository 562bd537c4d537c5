import numpy as np
import symusic

from symbolic.instruments import parse_instruments
from vmm.arrange import arrange, bass_line
from vmm.data.pop909 import ROLE_PROGRAMS


def pop909_like_score(bars=4):
    """Melody (high), accompaniment (middle chords) and bridge, with the role programs."""
    score = symusic.Score(480)
    roles = {"melody": [(76, 1)], "accompaniment": [(48, 4), (52, 4), (55, 4)], "bridge": [(67, 2)]}
    for role, voices in roles.items():
        track = symusic.Track(name=role.upper(), program=ROLE_PROGRAMS[role])
        for beat in range(bars * 4):
            for pitch, every in voices:
                if beat % every == 0:
                    track.notes.append(symusic.Note(beat * 480, 480 * every, pitch, 80))
        score.tracks.append(track)
    return score


def test_requested_instruments_become_named_tracks_with_their_programs():
    instruments = parse_instruments("piano,strings,bass,drums")
    strength = np.tile([1.0, 0.3, 0.7, 0.3], 4)
    score = arrange(pop909_like_score(), instruments, strength=strength, section_starts=[2])
    assert [t.name for t in score.tracks] == [i.display_name for i in instruments]
    assert [t.program for t in score.tracks] == [i.program for i in instruments]
    piano, strings, bass, drums = score.tracks
    assert {n.pitch for n in piano.notes} == {76}  # the melody goes to the first instrument
    assert {n.pitch for n in strings.notes} >= {48, 52, 55}  # then accompaniment (+ bridge joins it)
    assert drums.is_drum and len(drums.notes) > 16
    assert all(28 <= n.pitch <= 52 for n in bass.notes) and bass.notes[0].pitch % 12 == 0  # C from the chord


def test_bass_line_follows_the_lowest_sounding_note():
    track = symusic.Track(program=0)
    track.notes.append(symusic.Note(0, 960, 60, 80))
    track.notes.append(symusic.Note(960, 960, 55, 80))
    line = bass_line([track], 480, 4)
    assert [(n.time, n.duration, n.pitch) for n in line] == [(0, 960, 48), (960, 960, 43)]


def test_a_single_instrument_takes_every_part():
    score = arrange(pop909_like_score(), parse_instruments("piano"), strength=np.ones(16))
    assert len(score.tracks) == 1
    assert len(score.tracks[0].notes) == sum(len(t.notes) for t in pop909_like_score().tracks)


def test_compound_metre_keeps_bass_and_drums_in_the_bar():
    """6/8: a beat is an eighth note, so two bars span 6 quarter notes, not 12."""
    score = arrange(pop909_like_score(bars=1), parse_instruments("bass,drums"),
                    strength=np.tile([1.0, 0.2, 0.2, 0.6, 0.2, 0.2], 2), time_signature=(6, 8))
    bar_ticks = 480 * 3
    bass, drums = score.tracks
    assert max(n.time for n in drums.notes) < 2 * bar_ticks
    assert max(n.time + n.duration for n in bass.notes) <= 2 * bar_ticks
    snares = sorted(n.time for n in drums.notes if n.pitch == 38)
    assert snares == [3 * 240, bar_ticks + 3 * 240]  # the middle of each bar


def test_repeated_instruments_are_separate_tracks():
    score = arrange(pop909_like_score(), parse_instruments("piano,piano"), strength=np.ones(16))
    first, second = score.tracks
    assert {n.pitch for n in first.notes} == {76} and {n.pitch for n in second.notes} >= {48, 52, 55}
