#pragma once
// Keys, scales, diatonic chords and guitar chord shapes. Pitches are MIDI note numbers, pitch classes
// are 0..11 with 0 = C.
#include <array>
#include <string>
#include <vector>

namespace unmix::synth {

enum class Mode { Major, Minor };
const char* mode_name(Mode mode);               // "major" / "minor"
std::string pitch_class_name(int pitch_class);  // "C", "C#", ... "B"

struct Chord {
  int root = 0;                // pitch class
  std::vector<int> intervals;  // semitones above the root, ascending, starting with 0
  std::string symbol;          // e.g. "Am", "G7", "Fmaj7"
};

// Semitones of scale step `degree` above the tonic (degrees past 6 continue into higher octaves,
// negative ones go below).
int scale_offset(Mode mode, int degree);
bool in_scale(int key, Mode mode, int pitch);
// The scale tone `steps` scale steps above (below, when negative) `pitch`; a pitch outside the scale is
// first moved down to the nearest scale tone.
int scale_step(int key, Mode mode, int pitch, int steps);
// The triad (or seventh chord) built on scale degree 0..6 from the scale's own tones.
Chord diatonic_chord(int key, Mode mode, int degree, bool seventh);
// The chord with its third raised (minor v -> major V in a minor key).
Chord with_major_third(Chord chord);

// The pitch with class `pitch_class` closest to `around` (ties go down).
int nearest_pitch(int pitch_class, int around);
// The lowest pitch of class `pitch_class` that is >= `low`.
int pitch_at_or_above(int pitch_class, int low);
bool is_chord_tone(const Chord& chord, int pitch);

// Standard tuning E2 A2 D3 G3 B3 E4, low string first.
inline constexpr std::array<int, 6> kGuitarStrings = {40, 45, 50, 55, 59, 64};

// A playable chord shape around fret `position` (0 = open position): one MIDI note per string, low
// string first, -1 for a string that is not played. The lowest played string carries the root.
std::array<int, 6> guitar_voicing(const Chord& chord, int position);
// Root, fifth and octave on the low E or A string near `position`.
std::array<int, 3> power_chord(const Chord& chord, int position);

}  // namespace unmix::synth
