import numpy as np
import pytest
import torch

from symbolic.chords import chord_id, chord_pitch_classes
from symbolic.tokenizer import build_tokenizer, decode, token_timeline, vocab_table
from vmm.generate.bias import GuidanceBias, duration_positions
from vmm.generate.generator import ScoreControls, generate_tokens
from vmm.generate.grammar import DURATION, PITCH, RemiGrammar
from vmm.generate.guidance import CHORD_PROFILE, PlanGuidance, note_limits
from vmm.generate.sampling import SamplingSettings, sample_token
from vmm.model import VMMConfig, VMMModel

C_MAJOR, F_MAJOR = chord_id(0, "maj"), chord_id(5, "maj")
ONLY_CHORDS = dict(density_tolerance=None, density_spread=0.0)
ONLY_DENSITY = dict(chord_bonus=0.0, root_bonus=0.0, fill_bonus=0.0, hold_penalty=0.0)


@pytest.fixture(scope="module")
def tokenizer():
    return build_tokenizer()


@pytest.fixture(scope="module")
def table(tokenizer):
    return vocab_table(tokenizer)


@pytest.fixture(scope="module")
def model(tokenizer):
    torch.manual_seed(0)
    return VMMModel(VMMConfig.tiny(len(tokenizer)))


def controls(density, chords=None, programs=(0, 73)):
    n_bars = len(density)
    chords = np.full(4 * n_bars, C_MAJOR) if chords is None else np.asarray(chords)
    return ScoreControls(n_bars=n_bars, tempo=100.0, density=np.asarray(density, dtype=np.float32),
                         strength=np.tile([1.0, 0.2, 0.6, 0.2], n_bars), chords=chords, programs=list(programs))


def notes_per_bar(tokenizer, table, ids, n_bars):
    bars, _ = token_timeline(tokenizer, ids)
    return np.bincount(bars[table.codes[np.array(ids)] == DURATION], minlength=n_bars)


# Settings ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("field, value, message", [
    ("chord_bonus", -1.0, "chord_bonus must be a finite number >= 0"),
    ("fill_bonus", float("nan"), "fill_bonus must be a finite number >= 0"),
    ("hold_penalty", float("inf"), "hold_penalty must be a finite number >= 0"),
    ("density_spread", -0.5, "density_spread must be"),
    ("density_tolerance", 1.5, r"density_tolerance must be in \[0, 1\]"),
    ("density_tolerance", -0.1, r"density_tolerance must be in \[0, 1\]"),
])
def test_bad_settings_are_refused(field, value, message):
    with pytest.raises(ValueError, match=message):
        PlanGuidance(**{field: value})


def test_off_and_the_command_line_knobs():
    off = PlanGuidance.off()
    assert off.chord_bonus == off.root_bonus == off.fill_bonus == off.hold_penalty == off.density_spread == 0
    assert off.density_tolerance is None
    assert PlanGuidance.from_strengths(0.0, None) == off
    assert PlanGuidance.from_strengths(PlanGuidance().chord_bonus, PlanGuidance().density_tolerance) == PlanGuidance()
    strong = PlanGuidance.from_strengths(4.0, 0.2)
    assert strong.fill_bonus == pytest.approx(4.0 * CHORD_PROFILE["fill_bonus"]) and strong.density_tolerance == 0.2


def test_note_limits_round_inwards_but_admit_the_target():
    limits = note_limits(np.array([0.0, 3.0, 24.0, 12.4, 1000.0]), 0.1, max_notes=96)
    assert limits.tolist() == [[0, 0], [3, 3], [22, 26], [12, 13], [96, 96]]
    assert note_limits(np.array([10.0]), 0.0, 96).tolist() == [[10, 10]]


def test_grammar_refuses_inconsistent_limits(table):
    with pytest.raises(ValueError, match="note_limits"):
        RemiGrammar(table, n_bars=2, note_limits=np.array([[3, 2], [0, 1]]))
    with pytest.raises(ValueError, match="note_limits"):
        RemiGrammar(table, n_bars=2, note_limits=np.array([[0, 2]]))


# Density guidance ----------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(6))
def test_random_sampling_under_note_limits_keeps_every_bar_within_them(tokenizer, table, seed):
    """Random logits (the worst model): the mask is never empty and every bar lands inside its limits."""
    limits = note_limits(np.array([0.0, 1.0, 7.0, 30.0, 0.0, 500.0]), 0.1, RemiGrammar.MAX_NOTES_PER_BAR)
    grammar = RemiGrammar(table, n_bars=6, tempo_bpm=100, programs=[0, -1], note_limits=limits)
    generator = torch.Generator().manual_seed(seed)
    ids = []
    while not grammar.done:
        allowed = grammar.allowed()
        assert allowed.any()
        token = sample_token(torch.randn(len(tokenizer), generator=generator) * 3, allowed,
                             SamplingSettings(top_p=1.0), generator)
        grammar.advance(token)
        if not grammar.done:
            ids.append(token)
        assert len(ids) < 20_000
    counts = notes_per_bar(tokenizer, table, ids, 6)
    assert ((counts >= limits[:, 0]) & (counts <= limits[:, 1])).all(), (counts, limits)
    assert counts[5] == RemiGrammar.MAX_NOTES_PER_BAR  # a huge target is held to the grammar's guard


def test_model_follows_the_notes_per_bar_within_tolerance(tokenizer, table, model):
    density = [0.0, 5.0, 12.0, 20.0, 150.0]
    guidance = PlanGuidance(**ONLY_DENSITY, density_tolerance=0.1, density_spread=0.5)
    ids = generate_tokens(model, tokenizer, controls(density), SamplingSettings(seed=3), guidance=guidance)
    counts = notes_per_bar(tokenizer, table, ids, len(density))
    limits = note_limits(np.array(density), 0.1, RemiGrammar.MAX_NOTES_PER_BAR)
    assert ((counts >= limits[:, 0]) & (counts <= limits[:, 1])).all(), (counts, limits)
    assert counts[0] == 0 and counts[4] == RemiGrammar.MAX_NOTES_PER_BAR
    assert decode(tokenizer, ids).note_num() == counts.sum()


def test_without_density_guidance_the_counts_are_the_models(tokenizer, table, model):
    """The same random model ignores a target of 40 notes when nothing enforces it (so the test above
    measures the guidance, not the model)."""
    ids = generate_tokens(model, tokenizer, controls([40.0, 40.0]), SamplingSettings(seed=3),
                          guidance=PlanGuidance.off())
    assert notes_per_bar(tokenizer, table, ids, 2).max() < 36


def test_spread_bias_pushes_a_lagging_bar_to_add_notes_now(table, tokenizer):
    guide = GuidanceBias(PlanGuidance(**ONLY_DENSITY, density_spread=1.0), table, np.array([32.0]),
                         np.zeros(4, dtype=np.int64), 4, duration_positions(tokenizer, table.positions_per_beat))
    position_ids = table.ids_of("Position")
    # Half the bar gone (32 positions a bar) with 2 of 32 notes: moving further costs more the further it goes.
    lag = guide._spread_bias(32.0, notes=2, position=16, positions=32)
    costs = lag[position_ids[17:32]].numpy()
    assert (np.diff(costs) < 0).all() and costs[0] < 0
    assert lag[table.ids_of("Program")].eq(0).all()
    # Ahead (20 notes at position 4): one more note now is penalised, moving on is not.
    lead = guide._spread_bias(32.0, notes=20, position=4, positions=32)
    assert lead[table.ids_of("Program")].lt(0).all() and lead[position_ids[5:28]].eq(0).all()
    assert table.position[position_ids].tolist()[:32] == list(range(32))


# Chord guidance ------------------------------------------------------------------------------------

def chord_tone_share(tokenizer, ids, chord):
    pitches = np.concatenate([track.notes.numpy()["pitch"] for track in decode(tokenizer, ids).tracks
                              if not track.is_drum])
    return float(np.isin(pitches % 12, chord_pitch_classes(chord)).mean())


def test_chord_bonus_raises_the_share_of_chord_tones(tokenizer, model):
    plan = controls([12.0] * 4)
    settings = SamplingSettings(seed=5)
    alone = generate_tokens(model, tokenizer, plan, settings, guidance=PlanGuidance.off())
    guided = generate_tokens(model, tokenizer, plan, settings,
                             guidance=PlanGuidance(chord_bonus=3.0, root_bonus=0.0, fill_bonus=0.0, hold_penalty=0.0,
                                                   **ONLY_CHORDS))
    assert chord_tone_share(tokenizer, alone, C_MAJOR) < 0.5
    assert chord_tone_share(tokenizer, guided, C_MAJOR) > chord_tone_share(tokenizer, alone, C_MAJOR) + 0.25


def test_no_chord_means_no_bonus(tokenizer, model):
    plan = controls([12.0] * 2, chords=np.zeros(8, dtype=np.int64))
    settings = SamplingSettings(seed=5)
    strong = PlanGuidance(chord_bonus=5.0, root_bonus=5.0, fill_bonus=5.0, hold_penalty=5.0, **ONLY_CHORDS)
    assert generate_tokens(model, tokenizer, plan, settings, guidance=strong) == \
        generate_tokens(model, tokenizer, plan, settings, guidance=PlanGuidance.off())


def test_chord_bias_root_fill_and_hold(table, tokenizer):
    durations = duration_positions(tokenizer, table.positions_per_beat)
    assert durations[tokenizer.vocab["Duration_1.4.8"]] == 12  # 1.5 beats of 8 positions
    guidance = PlanGuidance(chord_bonus=2.0, root_bonus=1.0, fill_bonus=0.5, hold_penalty=3.0, **ONLY_CHORDS)
    chords = np.array([C_MAJOR, C_MAJOR, F_MAJOR, F_MAJOR])
    guide = GuidanceBias(guidance, table, np.array([8.0]), chords, 4, durations)
    grammar = RemiGrammar(table, n_bars=1, tempo_bpm=100, programs=[0])
    for token in (grammar.forced(), int(table.time_sig_id(4, 4)), int(table.ids_of("Position")[0]),
                  int(table.nearest_tempo_id(100)), int(table.program_ids([0])[0])):
        grammar.advance(token)
    pitch_id = {int(table.value[i]): int(i) for i in table.ids_of("Pitch")}
    bias = guide.bias(grammar)
    assert bias[pitch_id[64]] == pytest.approx(2.5)  # E4: chord tone, not yet sounding
    assert bias[pitch_id[48]] == pytest.approx(3.5)  # C3: the root in the bass
    assert bias[pitch_id[61]] == 0  # C#4
    # Write E4 (held 1.5 beats): E no longer needs filling in beat 0.
    grammar.advance(pitch_id[64])
    grammar.advance(int(table.ids_of("Velocity")[0]))
    hold = guide.bias(grammar)  # E is not in F major (beat 2): durations past beat 2 lose 3 nats
    assert hold[tokenizer.vocab["Duration_2.0.8"]] == 0 and hold[tokenizer.vocab["Duration_2.1.8"]] == -3.0
    duration = tokenizer.vocab["Duration_1.4.8"]
    grammar.advance(duration)
    guide.take(grammar, duration)
    grammar.advance(int(table.program_ids([0])[0]))
    assert guide.bias(grammar)[pitch_id[64]] == pytest.approx(2.0)
    assert guide.bias(grammar)[pitch_id[67]] == pytest.approx(2.5)


def test_drums_get_no_chord_bias(table, tokenizer):
    guide = GuidanceBias(PlanGuidance(), table, np.array([8.0]), np.full(4, C_MAJOR), 4,
                         duration_positions(tokenizer, table.positions_per_beat))
    grammar = RemiGrammar(table, n_bars=1, tempo_bpm=100, programs=[-1])
    for token in (grammar.forced(), int(table.time_sig_id(4, 4)), int(table.ids_of("Position")[0]),
                  int(table.nearest_tempo_id(100)), int(table.program_ids([-1])[0])):
        grammar.advance(token)
    assert grammar.last_code != PITCH and guide.bias(grammar) is None
