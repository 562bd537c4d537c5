import numpy as np
import pytest

from symbolic.chords import chord_name, chord_root
from vmm.harmony import chord_plan_for_key


def test_key_plan_is_diatonic_changes_at_sections_and_ends_on_the_tonic():
    plan = chord_plan_for_key(9, "minor", n_bars=12, beats_per_bar=4, section_starts=[4, 8], seed=3)
    assert plan.shape == (48,)
    per_bar = plan[::4]
    assert chord_name(int(per_bar[-1])) == "Am"
    assert {chord_root(int(c)) for c in per_bar} <= {9, 11, 0, 2, 4, 5, 7}  # A natural minor
    names = [chord_name(int(c)) for c in per_bar]
    assert names[4] == "Am" and names[8] == "Am"  # every minor progression starts on i
    assert len({n.rstrip("m") for n in names}) > 2


def test_same_seed_same_plan():
    a = chord_plan_for_key(0, "major", 8, 4, seed=5)
    assert np.array_equal(a, chord_plan_for_key(0, "major", 8, 4, seed=5))


def test_bad_mode():
    with pytest.raises(ValueError, match="mode"):
        chord_plan_for_key(0, "dorian", 4, 4)
