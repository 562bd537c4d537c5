import pytest

from symbolic.errors import SymbolicError
from symbolic.instruments import (
    INSTRUMENTS,
    Instrument,
    default_track_name,
    get_instrument,
    gm_family_name,
    gm_program_name,
    parse_instruments,
)

REQUIRED = (
    "piano electric-piano organ guitar acoustic-guitar electric-guitar bass strings violin cello choir pad "
    "brass trumpet sax flute clarinet harp marimba vibraphone synth-lead drums"
).split()


def test_parse_instruments_in_order():
    got = parse_instruments("piano,strings,bass,drums")
    assert [i.name for i in got] == ["piano", "strings", "bass", "drums"]
    assert [i.program for i in got] == [0, 48, 33, 0]
    assert [i.is_drum for i in got] == [False, False, False, True]
    assert [i.display_name for i in got] == ["Piano", "Strings", "Bass", "Drums"]
    assert all(isinstance(i, Instrument) for i in got)


def test_required_names_have_the_right_gm_family():
    families = {
        "piano": "Piano", "electric-piano": "Piano", "organ": "Organ", "guitar": "Guitar",
        "acoustic-guitar": "Guitar", "electric-guitar": "Guitar", "bass": "Bass", "strings": "Ensemble",
        "violin": "Strings", "cello": "Strings", "choir": "Ensemble", "pad": "Synth Pad", "brass": "Brass",
        "trumpet": "Brass", "sax": "Reed", "flute": "Pipe", "clarinet": "Reed", "harp": "Strings",
        "marimba": "Chromatic Percussion", "vibraphone": "Chromatic Percussion", "synth-lead": "Synth Lead",
    }
    for name in REQUIRED:
        instrument = INSTRUMENTS[name]
        assert gm_family_name(instrument.program, instrument.is_drum) == families.get(name, "Drums"), name
    assert INSTRUMENTS["drums"].is_drum
    assert sum(i.is_drum for i in INSTRUMENTS.values()) == 1


def test_spelling_spaces_case_aliases_and_numbers():
    got = parse_instruments(" Electric Guitar , SYNTH_LEAD,keys,, piano ,piano,40")
    assert [i.name for i in got] == ["electric-guitar", "synth-lead", "electric-piano", "piano", "piano", "program-40"]
    assert got[-1].program == 40 and got[-1].display_name == "Violin"


def test_unknown_name_lists_known_names():
    with pytest.raises(SymbolicError) as info:
        parse_instruments("piano,kazoo")
    message = str(info.value)
    assert "kazoo" in message and "\n" not in message
    for name in REQUIRED:
        assert name in message


@pytest.mark.parametrize("spec", ["", " , ", "128", "-1"])
def test_empty_or_out_of_range(spec):
    with pytest.raises(SymbolicError):
        parse_instruments(spec)


def test_gm_names_cover_every_program():
    names = [gm_program_name(p) for p in range(128)]
    assert len(set(names)) == 128
    assert names[0] == "Acoustic Grand Piano" and names[33] == "Electric Bass (finger)" and names[127] == "Gunshot"
    assert gm_program_name(0, is_drum=True) == "Drums"
    assert {gm_family_name(p) for p in range(128)} >= {"Piano", "Bass", "Sound Effects"}
    with pytest.raises(SymbolicError):
        gm_program_name(128)


def test_default_track_names():
    assert default_track_name(0) == "Piano"
    assert default_track_name(33) == "Bass"
    assert default_track_name(25) == "Guitar"
    assert default_track_name(1) == "Bright Piano"
    assert default_track_name(2) == "Electric Grand Piano"
    assert default_track_name(9, is_drum=True) == "Drums"


def test_instrument_checks_program():
    with pytest.raises(ValueError):
        Instrument("x", 200, False, "X")
    assert get_instrument("Drums").is_drum
