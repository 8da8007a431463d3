// Bass lines that follow the harmony: driving roots, root-fifth, syncopated figures, octaves, whole
// notes, and walking lines with chromatic approach notes.
#include <algorithm>
#include <cmath>

#include "unmix/synth/note_writer.h"

namespace unmix::synth {

namespace {

constexpr int kLowest = 28;  // E1, the open low string

struct Hit {
  double beat;  // within the bar
  char role;    // R root, 5 fifth, 8 octave
};

std::vector<Hit> bar_hits(Pattern pattern, int beats_per_bar) {
  std::vector<Hit> hits;
  switch (pattern) {
    case Pattern::BassRoots:
      for (int i = 0; i < 2 * beats_per_bar; ++i) hits.push_back({0.5 * i, 'R'});
      break;
    case Pattern::BassOctaves:
      for (int i = 0; i < 2 * beats_per_bar; ++i) hits.push_back({0.5 * i, i % 2 ? '8' : 'R'});
      break;
    case Pattern::BassRootFifth:
      if (beats_per_bar == 3) hits = {{0, 'R'}, {1, '5'}, {2, '5'}};
      else hits = {{0, 'R'}, {2, '5'}};
      break;
    case Pattern::BassSyncopated:
      if (beats_per_bar == 3) hits = {{0, 'R'}, {1.5, 'R'}, {2, '5'}};
      else hits = {{0, 'R'}, {1.5, 'R'}, {2, '5'}, {3, '8'}, {3.5, 'R'}};
      break;
    default: break;
  }
  return hits;
}

int bass_root(const Chord& chord) { return pitch_at_or_above(chord.root, kLowest); }

bool chord_starts_at(const SongPlan& plan, double beat) {
  return std::any_of(plan.chords.begin(), plan.chords.end(),
                     [&](const ChordSpan& c) { return std::abs(c.start_beat - beat) < 1e-9; });
}

void walking(const SongPlan& plan, const Section& section, BeatRange range, NoteWriter& out) {
  Rng& rng = out.rng();
  int previous = -1;
  for (double beat = range.begin; beat < range.end - 1e-9; beat += 1.0) {
    const Chord& chord = chord_at(plan, beat);
    const bool change_next = beat + 1 < range.end - 1e-9 && chord_starts_at(plan, beat + 1);
    const bool chord_starts = beat == range.begin || chord_starts_at(plan, beat);
    int key;
    if (chord_starts || previous < 0) {
      key = previous < 0 ? bass_root(chord) : nearest_pitch(chord.root, previous);
    } else if (change_next) {
      const int target = nearest_pitch(chord_at(plan, beat + 1).root, previous);
      key = rng.chance(0.6) ? target + (rng.chance(0.5) ? 1 : -1) : scale_step(plan.key, plan.mode, target, target > previous ? -1 : 1);
    } else {
      const auto n = static_cast<int>(chord.intervals.size());
      const int tone = chord.intervals[static_cast<std::size_t>(rng.integer(1, n - 1))];
      key = rng.chance(0.6) ? nearest_pitch((chord.root + tone) % 12, previous)
                            : scale_step(plan.key, plan.mode, previous, rng.chance(0.5) ? 1 : -1);
    }
    while (key < kLowest) key += 12;
    while (key > kLowest + 20) key -= 12;
    previous = key;
    out.add(beat, 0.9, key, velocity(beat == std::floor(beat / plan.beats_per_bar) * plan.beats_per_bar ? 92 : 84,
                                      section.intensity, rng));
  }
}

}  // namespace

void bass_notes(const SongPlan& plan, const Part& part, NoteWriter& out) {
  Rng& rng = out.rng();
  for (std::size_t s = 0; s < plan.sections.size(); ++s) {
    const Pattern pattern = part.pattern_by_section[s];
    if (pattern == Pattern::Tacet) continue;
    const Section& section = plan.sections[s];
    const BeatRange range = section_beats(plan, s);
    if (pattern == Pattern::BassWalking) {
      walking(plan, section, range, out);
      continue;
    }
    if (pattern == Pattern::BassRiff) {
      // The guitars' riff an octave below, every step on the root (its blues notes too, played as written).
      const std::vector<RiffStep> riff = song_riff(plan);
      for (double bar = range.begin; bar < range.end - 1e-9; bar += plan.beats_per_bar)
        for (const RiffStep& step : riff) {
          const double beat = bar + step.slot * 0.25;
          if (beat >= range.end - 1e-9) break;
          int key = bass_root(chord_at(plan, beat)) + (step.kind == 'n' ? step.interval : 0);
          while (key > kLowest + 19) key -= 12;
          const double length = std::min(step.length * 0.25 * (step.kind == 'x' ? 0.7 : 0.9), range.end - beat);
          out.add(beat, length, key, velocity(step.kind == 'O' ? 96 : 86, section.intensity, rng, 4.0));
        }
      continue;
    }
    if (pattern == Pattern::BassWhole) {
      for (const ChordSpan& span : chords_between(plan, range.begin, range.end))
        out.add(span.start_beat, span.beats * 0.95, bass_root(span.chord), velocity(86, section.intensity, rng));
      continue;
    }
    const std::vector<Hit> hits = bar_hits(pattern, plan.beats_per_bar);
    const double legato = pattern == Pattern::BassOctaves ? 0.45 : pattern == Pattern::BassRoots ? 0.8 : 0.9;
    for (double bar = range.begin; bar < range.end - 1e-9; bar += plan.beats_per_bar) {
      for (std::size_t h = 0; h < hits.size(); ++h) {
        const double beat = bar + hits[h].beat;
        if (beat >= range.end - 1e-9) break;
        const Chord& chord = chord_at(plan, beat);
        const double next = h + 1 < hits.size() ? bar + hits[h + 1].beat : bar + plan.beats_per_bar;
        // A new chord always arrives on its root.
        const bool chord_starts = chord_starts_at(plan, beat);
        int key = bass_root(chord);
        if (hits[h].role == '5' && !chord_starts) key += 7;
        if (hits[h].role == '8' && !chord_starts) key += 12;
        // Lead into a chord change from a step away now and then.
        if (next < range.end - 1e-9 && chord_starts_at(plan, next) && chord_at(plan, next).symbol != chord.symbol && !chord_starts &&
            rng.chance(0.35))
          key = scale_step(plan.key, plan.mode, bass_root(chord_at(plan, next)) + 12, -1) - 12;
        while (key < kLowest) key += 12;
        const bool downbeat = hits[h].beat == 0;
        out.add(beat, (next - beat) * legato, key, velocity(downbeat ? 94 : 84, section.intensity, rng));
      }
      // A chord that starts between hits still gets its root.
      for (const ChordSpan& span : chords_between(plan, bar, std::min(bar + plan.beats_per_bar, range.end))) {
        const double offset = span.start_beat - bar;
        const bool covered = std::any_of(hits.begin(), hits.end(), [&](const Hit& hit) { return std::abs(hit.beat - offset) < 1e-9; });
        if (!covered) out.add(span.start_beat, std::min(1.0, span.beats) * legato, bass_root(span.chord), velocity(86, section.intensity, rng));
      }
    }
  }
}

}  // namespace unmix::synth
