// A sung-like lead line (a voice preset, or an instrument that stands in for one): two-bar phrases with breaths between them, chord tones on strong beats, steps
// in between, a rhythm that recurs in every section of the same kind, and a higher register in choruses.
#include <algorithm>
#include <cmath>
#include <numbers>

#include "unmix/synth/note_writer.h"

namespace unmix::synth {

namespace {

int usual_centre(int program) {
  switch (program) {
    case 73: return 79;  // flute
    case 64: return 72;  // soprano sax
    case 65: return 68;  // alto sax
    case 66: return 61;  // tenor sax
    case 68: return 74;  // oboe
    case 71: return 67;  // clarinet
    case 56: return 70;  // trumpet
    case 40: return 76;  // violin
    case 22: return 72;  // harmonica
    case 52:             // choir aahs
    case 53:             // voice oohs
    case 54:             // synth voice
    case 85: return 65;  // voice lead: a singer's middle register
    default: return 72;  // synth leads
  }
}

bool sung_like(int program) { return program == 52 || program == 53 || program == 54 || program == 85 || program == 40; }

// Onset slots (eighth notes) of a two-bar phrase; the last beat or more is left for breathing.
std::vector<int> phrase_rhythm(Rng& rng, int beats_per_bar) {
  const int slots = 4 * beats_per_bar;
  const int breath = rng.integer(2, 4);
  std::vector<int> onsets;
  for (int slot = 0; slot < slots - breath; ++slot) {
    const bool strong = slot % 2 == 0;
    if (slot == 0 ? rng.chance(0.8) : rng.chance(strong ? 0.7 : 0.35)) onsets.push_back(slot);
  }
  if (onsets.size() < 3) onsets = {0, 2, 4};
  return onsets;
}

}  // namespace

void lead_notes(const SongPlan& plan, const Part& part, NoteWriter& out) {
  Rng& rng = out.rng();
  const int bpb = plan.beats_per_bar;
  const int centre = usual_centre(part.instrument.program) + part.register_offset;
  std::vector<std::vector<int>> rhythm_by_kind;
  for (int k = 0; k < 5; ++k) rhythm_by_kind.push_back(phrase_rhythm(rng, bpb));
  const double phrase_beats = 2.0 * bpb;
  const int slots = 4 * bpb;
  for (std::size_t s = 0; s < plan.sections.size(); ++s) {
    if (part.pattern_by_section[s] == Pattern::Tacet) continue;
    const Section& section = plan.sections[s];
    const BeatRange range = section_beats(plan, s);
    const std::vector<int>& rhythm = rhythm_by_kind[static_cast<int>(section.kind)];
    const int home = centre + (section.kind == SectionKind::Chorus ? 3 : 0);
    int previous = nearest_pitch(chord_at(plan, range.begin).root, home);
    for (double phrase = range.begin; phrase < range.end - 1e-9; phrase += phrase_beats) {
      for (std::size_t i = 0; i < rhythm.size(); ++i) {
        const double beat = phrase + 0.5 * rhythm[i];
        if (beat >= range.end - 1e-9) break;
        const Chord& chord = chord_at(plan, beat);
        int key;
        if (rhythm[i] % 2 == 0 && rng.chance(0.75)) {
          // Strong beat: the chord tone nearest to where the line is, nudged back towards home.
          int best = -1;
          for (int interval : chord.intervals) {
            const int candidate = nearest_pitch((chord.root + interval) % 12, previous + (home - previous) / 3);
            if (best < 0 || std::abs(candidate - previous) < std::abs(best - previous)) best = candidate;
          }
          key = best;
        } else {
          const double r = rng.uniform();
          int step = r < 0.7 ? 1 : r < 0.9 ? 2 : 0;
          if (previous > home + 5 || (previous >= home - 5 && rng.chance(0.5))) step = -step;
          key = scale_step(plan.key, plan.mode, previous, step);
        }
        key = std::clamp(key, home - 9, home + 9);
        if (!in_scale(plan.key, plan.mode, key) && !is_chord_tone(chord, key)) key = scale_step(plan.key, plan.mode, key, 0);
        previous = key;
        const int next_slot = i + 1 < rhythm.size() ? rhythm[i + 1] : std::min(slots, rhythm[i] + 4);
        const double length = 0.5 * (next_slot - rhythm[i]) * (i + 1 < rhythm.size() ? 0.95 : 1.0);
        const bool phrase_peak = i == rhythm.size() / 2;
        const auto placed =
            out.add(beat, std::min(length, range.end - beat), key, velocity(phrase_peak ? 92 : 84, section.intensity, rng));
        // Singers (and violins) sustain with vibrato once the note has settled; the wheel is centred again
        // at every onset.
        if (placed && sung_like(part.instrument.program)) {
          out.bend(placed->start, 0.0);
          const double seconds_long = static_cast<double>(placed->end - placed->start) / out.sample_rate();
          if (seconds_long > 0.35) {
            const double hz = rng.uniform(4.5, 6.5), depth = rng.uniform(0.1, 0.3), onset = rng.uniform(0.15, 0.3);
            const auto step = static_cast<std::int64_t>(0.01 * out.sample_rate());
            const auto first = placed->start + static_cast<std::int64_t>(onset * out.sample_rate());
            for (std::int64_t t = first; t < placed->end - step; t += step) {
              const double since = static_cast<double>(t - first) / out.sample_rate();
              out.bend(t, depth * std::sin(2 * std::numbers::pi * hz * since) * std::min(1.0, since / 0.25));
            }
          }
        }
      }
    }
  }
}

}  // namespace unmix::synth
