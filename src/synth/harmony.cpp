#include "unmix/synth/harmony.h"

#include <algorithm>
#include <cstdlib>

namespace unmix::synth {

namespace {

constexpr int kMajor[7] = {0, 2, 4, 5, 7, 9, 11};
constexpr int kMinor[7] = {0, 2, 3, 5, 7, 8, 10};

const int* scale_of(Mode mode) { return mode == Mode::Major ? kMajor : kMinor; }
int floor_div(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
int modulo(int a, int b) { return ((a % b) + b) % b; }

std::string chord_symbol(int root, const std::vector<int>& intervals) {
  struct Quality {
    std::vector<int> intervals;
    const char* suffix;
  };
  static const Quality qualities[] = {{{0, 4, 7}, ""},         {{0, 3, 7}, "m"},       {{0, 3, 6}, "dim"},
                                      {{0, 4, 8}, "aug"},      {{0, 4, 7, 11}, "maj7"}, {{0, 4, 7, 10}, "7"},
                                      {{0, 3, 7, 10}, "m7"},   {{0, 3, 6, 10}, "m7b5"}, {{0, 3, 7, 11}, "mMaj7"}};
  const char* suffix = "?";
  for (const Quality& q : qualities)
    if (q.intervals == intervals) suffix = q.suffix;
  std::string symbol = pitch_class_name(root);
  symbol.append(suffix);
  return symbol;
}

}  // namespace

const char* mode_name(Mode mode) { return mode == Mode::Major ? "major" : "minor"; }

std::string pitch_class_name(int pitch_class) {
  static const char* names[12] = {"C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"};
  return names[modulo(pitch_class, 12)];
}

int scale_offset(Mode mode, int degree) { return 12 * floor_div(degree, 7) + scale_of(mode)[modulo(degree, 7)]; }

bool in_scale(int key, Mode mode, int pitch) {
  const int pc = modulo(pitch - key, 12);
  const int* scale = scale_of(mode);
  return std::find(scale, scale + 7, pc) != scale + 7;
}

int scale_step(int key, Mode mode, int pitch, int steps) {
  while (!in_scale(key, mode, pitch)) --pitch;
  const int relative = pitch - key;
  const int* scale = scale_of(mode);
  const auto index = static_cast<int>(std::find(scale, scale + 7, modulo(relative, 12)) - scale);
  const int degree = 7 * floor_div(relative, 12) + index;
  return key + scale_offset(mode, degree + steps);
}

Chord diatonic_chord(int key, Mode mode, int degree, bool seventh) {
  const int root_offset = scale_offset(mode, degree);
  Chord chord;
  chord.root = modulo(key + root_offset, 12);
  chord.intervals = {0, scale_offset(mode, degree + 2) - root_offset, scale_offset(mode, degree + 4) - root_offset};
  if (seventh) chord.intervals.push_back(scale_offset(mode, degree + 6) - root_offset);
  chord.symbol = chord_symbol(chord.root, chord.intervals);
  return chord;
}

Chord with_major_third(Chord chord) {
  for (int& interval : chord.intervals)
    if (interval == 3) interval = 4;
  chord.symbol = chord_symbol(chord.root, chord.intervals);
  return chord;
}

int nearest_pitch(int pitch_class, int around) {
  const int below = around - modulo(around - pitch_class, 12);
  const int above = below + 12;
  return (around - below) <= (above - around) ? below : above;
}

int pitch_at_or_above(int pitch_class, int low) { return low + modulo(pitch_class - low, 12); }

bool is_chord_tone(const Chord& chord, int pitch) {
  const int pc = modulo(pitch - chord.root, 12);
  return std::any_of(chord.intervals.begin(), chord.intervals.end(), [&](int i) { return modulo(i, 12) == pc; });
}

namespace {

// The voicing at one position, or an empty optional-like result (all -1) when the root is out of reach
// on the three low strings.
std::array<int, 6> voicing_at(const Chord& chord, int position) {
  std::array<int, 6> notes;
  notes.fill(-1);
  // Position 0 is the open position: frets 0..3, open strings included.
  const int lo = position, hi = position + 3;
  auto frets = [&](std::size_t) {
    std::vector<int> f;
    for (int fret = lo; fret <= hi; ++fret) f.push_back(fret);
    return f;
  };
  std::size_t bass = 6;
  for (std::size_t s = 0; s < 3 && bass == 6; ++s)
    for (int fret : frets(s))
      if (modulo(kGuitarStrings[s] + fret - chord.root, 12) == 0) {
        notes[s] = kGuitarStrings[s] + fret;
        bass = s;
        break;
      }
  if (bass == 6) return notes;
  // Upper strings: the lowest fret that adds a chord tone not yet heard (third before fifth before
  // seventh), else the lowest fret with any chord tone.
  std::vector<int> wanted;  // intervals in order of importance
  for (std::size_t i = 1; i < chord.intervals.size(); ++i) wanted.push_back(modulo(chord.intervals[i], 12));
  std::vector<int> heard = {0};
  for (std::size_t s = bass + 1; s < 6; ++s) {
    int best = -1, best_rank = 1000;
    for (int fret : frets(s)) {
      const int pitch = kGuitarStrings[s] + fret;
      const int interval = modulo(pitch - chord.root, 12);
      if (!is_chord_tone(chord, pitch)) continue;
      int rank = 100 + fret;  // already heard: lowest fret
      if (std::find(heard.begin(), heard.end(), interval) == heard.end()) {
        const auto w = std::find(wanted.begin(), wanted.end(), interval);
        rank = static_cast<int>(w - wanted.begin()) * 10 + fret;
      }
      if (rank < best_rank) best_rank = rank, best = pitch;
    }
    if (best >= 0) {
      notes[s] = best;
      heard.push_back(modulo(best - chord.root, 12));
    }
  }
  return notes;
}

}  // namespace

std::array<int, 6> guitar_voicing(const Chord& chord, int position) {
  position = std::clamp(position, 0, 12);
  auto notes = voicing_at(chord, position);
  if (std::any_of(notes.begin(), notes.end(), [](int n) { return n >= 0; })) return notes;
  // Root out of reach: move to where the root sits on the A string (then the E string), as a player would.
  for (std::size_t s : {std::size_t{1}, std::size_t{0}}) {
    const int fret = modulo(chord.root - kGuitarStrings[s], 12);
    notes = voicing_at(chord, std::max(0, fret - 1));
    if (std::any_of(notes.begin(), notes.end(), [](int n) { return n >= 0; })) return notes;
  }
  return notes;
}

std::array<int, 3> power_chord(const Chord& chord, int position) {
  const int on_e = kGuitarStrings[0] + modulo(chord.root - kGuitarStrings[0], 12);
  const int on_a = kGuitarStrings[1] + modulo(chord.root - kGuitarStrings[1], 12);
  const int target = kGuitarStrings[0] + position;
  const int root = std::abs(on_e - target) <= std::abs(on_a - 5 - target) ? on_e : on_a;
  return {root, root + 7, root + 12};
}

}  // namespace unmix::synth
