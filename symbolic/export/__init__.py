"""Score export: Standard MIDI Files for DAWs, MusicXML for notation programs, a piano-roll picture.

    from symbolic.export import write_midi, write_musicxml, plot_pianoroll
"""

from symbolic.export.midi import midi_bytes, parse_key, write_midi
from symbolic.export.musicxml import musicxml_stream, write_musicxml
from symbolic.export.pianoroll import draw_pianoroll, plot_pianoroll

__all__ = [
    "draw_pianoroll",
    "midi_bytes",
    "musicxml_stream",
    "parse_key",
    "plot_pianoroll",
    "write_midi",
    "write_musicxml",
]
