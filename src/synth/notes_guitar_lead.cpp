// Lead guitar: phrases on the pentatonic scale of the key, denser in a solo (the bridge), resting on chord
// tones, with the techniques that make a guitar lead sound like one, written on the pitch wheel:
//   bend     the note is picked a whole (or half) step low and pushed up to pitch, sometimes released
//   vibrato  a held note wavers by a quarter tone or so at 5-7 Hz after it has settled
//   slide    the pitch glides into the next note when it is a step or two away
// The wheel returns to centre at every new note that does not start bent.
#include <algorithm>
#include <cmath>
#include <numbers>

#include "unmix/synth/note_writer.h"

namespace unmix::synth {

namespace {

constexpr int kMinorPentatonic[] = {0, 3, 5, 7, 10};
constexpr int kMajorPentatonic[] = {0, 2, 4, 7, 9};

// Pentatonic pitches within [low, high], ascending.
std::vector<int> scale_pitches(int key, Mode mode, int low, int high) {
  std::vector<int> out;
  const int* tones = mode == Mode::Minor ? kMinorPentatonic : kMajorPentatonic;
  for (int p = low; p <= high; ++p)
    for (int i = 0; i < 5; ++i)
      if (((p - key - tones[i]) % 12 + 12) % 12 == 0) out.push_back(p);
  return out;
}

struct LeadNote {
  double beat, beats;
  int index;  // into the scale pitches
};

// One phrase of `beats` beats starting at `start`: onsets on an eighth (solo: sixteenth) grid, a long note
// at the end.
std::vector<LeadNote> phrase(Rng& rng, double start, double beats, bool solo, int& index, int scale_size) {
  std::vector<LeadNote> notes;
  const double grid = solo && rng.chance(0.6) ? 0.25 : 0.5;
  const double rest = solo ? rng.uniform(0.0, 0.5) : rng.uniform(0.5, 1.5);
  double beat = start + (rng.chance(0.3) ? grid : 0.0);
  const double end = start + beats - rest;
  while (beat < end - 1e-9) {
    double length = grid * (rng.chance(solo ? 0.25 : 0.45) ? rng.integer(2, 4) : 1);
    if (beat + length > end - 1e-9 || rng.chance(0.08)) length = std::max(grid, end - beat);
    const double r = rng.uniform();
    const int step = r < 0.35 ? 1 : r < 0.7 ? -1 : r < 0.82 ? 2 : r < 0.94 ? -2 : (rng.chance(0.5) ? 3 : -3);
    index = std::clamp(index + step, 0, scale_size - 1);
    notes.push_back({beat, length, index});
    beat += length;
  }
  return notes;
}

}  // namespace

void guitar_lead_section(const SongPlan& plan, const Part& part, std::size_t s, NoteWriter& out) {
  Rng& rng = out.rng();
  const Section& section = plan.sections[s];
  const BeatRange range = section_beats(plan, s);
  const bool solo = section.kind == SectionKind::Bridge || (section.kind == SectionKind::Outro && rng.chance(0.5));
  // the neck position the part was given sets where the line sits; a solo climbs higher
  const int low = plan.tuning.strings()[0] + 12 + std::min(part.fret_position, 7) + (solo ? 3 : 0);
  const int high = low + (solo ? 31 : 24);
  const std::vector<int> pitches = scale_pitches(plan.key, plan.mode, low, high);
  if (pitches.size() < 4) return;
  int index = static_cast<int>(pitches.size()) / 2 + rng.integer(-2, 2);
  const double rate = out.sample_rate();
  const double phrase_beats = rng.chance(0.5) ? plan.beats_per_bar : 2.0 * plan.beats_per_bar;
  bool played = false;
  for (double start = range.begin; start < range.end - 1e-9; start += phrase_beats) {
    // Outside a solo the lead answers other parts rather than filling every bar (but says something).
    if (!solo && played && rng.chance(0.35)) continue;
    played = true;
    std::vector<LeadNote> notes = phrase(rng, start, std::min(phrase_beats, range.end - start), solo, index,
                                         static_cast<int>(pitches.size()));
    for (std::size_t i = 0; i < notes.size(); ++i) {
      const LeadNote& n = notes[i];
      int key = pitches[static_cast<std::size_t>(n.index)];
      // Land a phrase's last note on a chord tone.
      if (i + 1 == notes.size()) {
        const Chord& chord = chord_at(plan, n.beat);
        for (int d = 0; d < 3 && !is_chord_tone(chord, key); ++d)
          key = pitches[static_cast<std::size_t>(std::clamp(n.index - d - 1, 0, static_cast<int>(pitches.size()) - 1))];
      }
      const bool long_note = n.beats >= 0.75;
      const bool bent = long_note && rng.chance(0.3);
      const int bend_by = bent ? (rng.chance(0.75) ? 2 : 1) : 0;
      const int v = velocity(solo ? 96 : 88, section.intensity, rng, 5.0);
      const auto placed = out.add(n.beat, n.beats * 0.97, key - bend_by, v);
      if (!placed) continue;
      const std::int64_t t0 = placed->start, t1 = placed->end;
      const auto at = [&](double seconds) { return t0 + static_cast<std::int64_t>(std::llround(seconds * rate)); };
      double held = 0;  // the wheel's resting value once the attack is done
      if (bent) {
        // Pushed up over 60-140 ms, a few steps; sometimes let back down before the note ends.
        const double rise = rng.uniform(0.06, 0.14);
        out.bend(t0, 0.0);
        for (int k = 1; k <= 8; ++k) out.bend(at(rise * k / 8), bend_by * std::sin(0.5 * std::numbers::pi * k / 8));
        held = bend_by;
        if (rng.chance(0.3)) {
          const std::int64_t release = t1 - static_cast<std::int64_t>(0.12 * rate);
          if (release > at(rise + 0.1))
            for (int k = 1; k <= 6; ++k)
              out.bend(release + static_cast<std::int64_t>(0.1 * rate * k / 6), bend_by * (1.0 - k / 6.0));
        }
      } else {
        out.bend(t0, 0.0);
      }
      if (long_note && rng.chance(0.65)) {
        const double depth = rng.uniform(0.15, 0.35), hz = rng.uniform(5.0, 7.0), onset = rng.uniform(0.12, 0.25);
        const auto step = static_cast<std::int64_t>(0.01 * rate);
        for (std::int64_t t = at(onset); t < t1 - step; t += step) {
          const double seconds = static_cast<double>(t - at(onset)) / rate;
          out.bend(t, held + depth * std::sin(2 * std::numbers::pi * hz * seconds) * std::min(1.0, seconds / 0.2));
        }
      } else if (!bent && i + 1 < notes.size() && rng.chance(0.2)) {
        // Slide into the next note when it is within the wheel's reach.
        const int next = pitches[static_cast<std::size_t>(notes[i + 1].index)];
        const int distance = next - key;
        if (distance != 0 && std::abs(distance) <= kBendRange) {
          const std::int64_t glide = static_cast<std::int64_t>(0.05 * rate);
          for (int k = 1; k <= 5; ++k) out.bend(t1 - glide + glide * k / 5 - 1, distance * k / 5.0);
        }
      }
    }
  }
}

}  // namespace unmix::synth
