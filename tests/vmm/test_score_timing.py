import symusic

from vmm.score.timing import fit_to_duration


def test_notes_after_the_end_go_and_the_tail_fades():
    score = symusic.Score(480)
    score.tempos.append(symusic.Tempo(0, 120.0))
    track = symusic.Track(program=0)
    for beat in range(8):  # one note per beat at 120 BPM: one every 0.5 s, 4 s in all
        track.notes.append(symusic.Note(beat * 480, 480 * 2, 60, 100))
    score.tracks.append(track)
    fitted = fit_to_duration(score, end_s=3.0, fade_s=1.0)
    notes = fitted.tracks[0].notes
    assert len(notes) == 6  # onsets 0 .. 2.5 s
    assert notes[-1].time + notes[-1].duration <= 6 * 480  # nothing rings past 3 s
    assert [n.velocity for n in notes[:5]] == [100, 100, 100, 100, 100]
    assert notes[5].velocity == 50  # half-way through the fade
    assert fitted.ticks_per_quarter == 480
