import numpy as np
import pytest
import torch

from symbolic.errors import SymbolicError
from symbolic.tokenizer import build_tokenizer, vocab_table
from vmm.generate.grammar import BAR, POSITION, PROGRAM, RemiGrammar
from vmm.generate.sampling import SamplingSettings, sample_token


@pytest.fixture(scope="module")
def tokenizer():
    return build_tokenizer()


def random_sequence(tokenizer, grammar, seed):
    generator = torch.Generator().manual_seed(seed)
    settings = SamplingSettings(top_p=1.0)
    ids = []
    while not grammar.done and len(ids) < 5000:
        token = sample_token(torch.randn(len(tokenizer), generator=generator), grammar.allowed(), settings, generator)
        grammar.advance(token)
        if not grammar.done:
            ids.append(token)
    return ids


@pytest.mark.parametrize("time_signature", [(4, 4), (3, 4)])
def test_random_sampling_under_the_grammar_decodes_to_the_planned_bars(tokenizer, time_signature):
    table = vocab_table(tokenizer)
    grammar = RemiGrammar(table, n_bars=6, time_signature=time_signature, tempo_bpm=100, programs=[0, 33, -1])
    ids = random_sequence(tokenizer, grammar, seed=1)
    assert grammar.done
    codes = table.codes[ids]
    assert (codes == BAR).sum() == 6
    programs = set(table.value[np.array(ids)[codes == PROGRAM]])
    assert programs <= {0, 33, -1}
    score = tokenizer.decode(ids)
    assert sum(len(track.notes) for track in score.tracks) > 0
    assert score.time_signatures[0].numerator == time_signature[0]
    assert abs(score.tempos[0].qpm - 100) < 5
    bar_ticks = score.ticks_per_quarter * 4 * time_signature[0] / time_signature[1]
    last_onset = max(note.time for track in score.tracks for note in track.notes)
    assert last_onset < 6 * bar_ticks


def test_positions_rise_inside_a_bar(tokenizer):
    table = vocab_table(tokenizer)
    grammar = RemiGrammar(table, n_bars=3)
    ids = random_sequence(tokenizer, grammar, seed=2)
    last = -1
    for token in ids:
        if table.codes[token] == BAR:
            last = -1
        elif table.codes[token] == POSITION:
            assert table.position[token] > last
            assert table.position[token] < 32
            last = table.position[token]


def test_bad_settings_are_refused(tokenizer):
    table = vocab_table(tokenizer)
    with pytest.raises(SymbolicError, match="time signature 7/16"):
        RemiGrammar(table, n_bars=2, time_signature=(7, 16))
    with pytest.raises(ValueError, match="n_bars"):
        RemiGrammar(table, n_bars=0)
    with pytest.raises(ValueError, match="temperature"):
        SamplingSettings(temperature=0)


def test_top_k_one_is_greedy():
    logits = torch.tensor([0.1, 3.0, 0.5, 2.0])
    allowed = torch.tensor([True, False, True, True])
    generator = torch.Generator().manual_seed(0)
    settings = SamplingSettings(top_k=1)
    assert {sample_token(logits, allowed, settings, generator) for _ in range(20)} == {3}
