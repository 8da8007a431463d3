// Keyboards and pads: block-chord comping, broken chords, sustained chords, and wide pad voicings.
#include <algorithm>
#include <cmath>

#include "unmix/synth/note_writer.h"

namespace unmix::synth {

namespace {

// Close position from `low` upwards, one note per chord tone.
std::vector<int> close_voicing(const Chord& chord, int low) {
  std::vector<int> notes;
  for (int interval : chord.intervals) notes.push_back(pitch_at_or_above((chord.root + interval) % 12, low));
  std::sort(notes.begin(), notes.end());
  return notes;
}

// Root and fifth low, the rest an octave up: the open sound of a string section or synth pad.
std::vector<int> open_voicing(const Chord& chord, int low) {
  const int root = pitch_at_or_above(chord.root, low);
  std::vector<int> notes = {root, root + 7};
  for (std::size_t i = 1; i < chord.intervals.size(); ++i)
    if (chord.intervals[i] != 7) notes.push_back(root + 12 + chord.intervals[i]);
  return notes;
}

const std::vector<std::vector<double>> kComping44 = {{0, 1.5, 2.5}, {0, 1, 2, 3}, {0, 2}, {0, 0.5, 1.5, 2, 3.5}, {0, 2.5}};
const std::vector<std::vector<double>> kComping34 = {{0, 1, 2}, {0, 1.5}, {0}};

}  // namespace

void keys_notes(const SongPlan& plan, const Part& part, NoteWriter& out) {
  Rng& rng = out.rng();
  const int bpb = plan.beats_per_bar;
  const std::vector<double> comping = rng.pick(bpb == 3 ? kComping34 : kComping44);
  const int right_hand = 57 + part.register_offset;
  const int left_hand = 36 + std::max(0, part.register_offset);
  for (std::size_t s = 0; s < plan.sections.size(); ++s) {
    const Pattern pattern = part.pattern_by_section[s];
    if (pattern == Pattern::Tacet) continue;
    const Section& section = plan.sections[s];
    const BeatRange range = section_beats(plan, s);
    switch (pattern) {
      case Pattern::KeysBlock:
        for (double bar = range.begin; bar < range.end - 1e-9; bar += bpb)
          for (std::size_t h = 0; h < comping.size(); ++h) {
            const double beat = bar + comping[h];
            if (beat >= range.end - 1e-9) break;
            const double next = h + 1 < comping.size() ? bar + comping[h + 1] : bar + bpb;
            const Chord& chord = chord_at(plan, beat);
            const double length = (std::min(next, range.end) - beat) * 0.9;
            const int v = velocity(comping[h] == 0 ? 78 : 68, section.intensity, rng);
            for (int key : close_voicing(chord, right_hand)) out.add(beat, length, key, v + rng.integer(-3, 3));
            if (comping[h] == 0 || rng.chance(0.3)) out.add(beat, length, pitch_at_or_above(chord.root, left_hand), v);
          }
        break;
      case Pattern::KeysBroken:
        for (double beat = range.begin; beat < range.end - 1e-9; beat += 0.5) {
          const Chord& chord = chord_at(plan, beat);
          const auto slot = static_cast<std::size_t>(std::llround((beat - range.begin) * 2)) % static_cast<std::size_t>(2 * bpb);
          const std::vector<int> tones = close_voicing(chord, right_hand);
          const int key = slot == 0 ? pitch_at_or_above(chord.root, left_hand)
                                    : tones[(slot - 1) % tones.size()] + (slot > tones.size() ? 12 : 0);
          out.add(beat, 1.0, key, velocity(slot == 0 ? 76 : 64, section.intensity, rng));
        }
        break;
      case Pattern::KeysSustain:
        for (const ChordSpan& span : chords_between(plan, range.begin, range.end)) {
          const int v = velocity(70, section.intensity, rng);
          for (int key : close_voicing(span.chord, right_hand)) out.add(span.start_beat, span.beats - 0.05, key, v);
          out.add(span.start_beat, span.beats - 0.05, pitch_at_or_above(span.chord.root, left_hand), v);
        }
        break;
      case Pattern::PadSustain:
        for (const ChordSpan& span : chords_between(plan, range.begin, range.end)) {
          const int v = velocity(72, section.intensity, rng, 4.0);
          for (int key : open_voicing(span.chord, 48 + part.register_offset)) out.add(span.start_beat, span.beats, key, v);
        }
        break;
      default: break;
    }
  }
}

}  // namespace unmix::synth
