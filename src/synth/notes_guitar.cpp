// Guitar parts: strummed chords (strings sounding one after another, down and up strokes), fingerpicked
// arpeggios, single-note picked lines, palm-muted power chords and the song's riff, in the song's tuning.
// Lead lines are in notes_guitar_lead.cpp.
#include <algorithm>
#include <array>
#include <cmath>
#include <string>

#include "unmix/synth/note_writer.h"

namespace unmix::synth {

namespace {

// Strum rhythms on an eighth-note grid: D down stroke, U up stroke, . let ring.
const std::vector<std::string> kStrums44 = {"D.DU.UDU", "D.D.D.DU", "D.DUDUDU", "D...D.DU",
                                            "D.DU.UD.", "DUDUDUDU", "D..UD.DU", "D.D.DUDU"};
const std::vector<std::string> kStrums34 = {"D.DUDU", "D.D.DU", "DUDUDU", "D...DU"};
// Fingerpicking orders over the chord's strings, 0 = the bass (lowest played) string.
const std::vector<std::vector<int>> kArpeggios44 = {
    {0, 2, 3, 4, 5, 4, 3, 2}, {0, 3, 2, 4, 1, 3, 2, 4}, {0, 1, 2, 3, 4, 5, 4, 3}, {0, 4, 2, 5, 1, 4, 2, 5}};
const std::vector<std::vector<int>> kArpeggios34 = {{0, 2, 3, 4, 3, 2}, {0, 3, 4, 5, 4, 3}, {0, 2, 4, 2, 5, 2}};
// Power-chord rhythms: x hit, . rest.
const std::vector<std::string> kChugs44 = {"xxxxxxxx", "x.xxx.xx", "x..x..x.", "x.x.x.xx"};
const std::vector<std::string> kChugs34 = {"xxxxxx", "x.xxx.", "x..x.x"};

struct Riff {
  struct Step {
    int slot;
    bool chord_tone;  // value is a chord-tone index; otherwise a scale step from the previous note
    int value;
  };
  std::vector<Step> steps;
  int slots = 8;
};

Riff make_riff(Rng& rng, int beats_per_bar) {
  Riff riff;
  riff.slots = 2 * beats_per_bar;
  for (int slot = 0; slot < riff.slots; ++slot) {
    const bool on_beat = slot % 2 == 0;
    if (slot != 0 && !rng.chance(on_beat ? 0.75 : 0.45)) continue;
    if (slot == 0 || (on_beat && rng.chance(0.7)) || rng.chance(0.3))
      riff.steps.push_back({slot, true, rng.integer(0, 3)});
    else
      riff.steps.push_back({slot, false, rng.pick(std::vector<int>{-2, -1, -1, 1, 1, 2})});
  }
  return riff;
}

struct GuitarStyle {
  double string_delay_s;  // between neighbouring strings in a stroke
  double grid;            // beats per strum/arpeggio slot
  std::array<std::string, 5> strum;            // per section kind
  std::array<std::vector<int>, 5> arpeggio;
  std::array<std::string, 5> chug;
  std::array<Riff, 5> riff;
  double ring_beats;      // how long arpeggio notes ring at most
};

int wrap12(int a) { return ((a % 12) + 12) % 12; }

// Standard-tuning chord shapes moved to the song's tuning: D standard plays the same shapes a whole step
// lower. In a drop tuning the low string is left out of chord shapes (its root would be a wrong note).
std::array<int, 6> tuned_voicing(const SongPlan& plan, const Chord& chord, int position) {
  const int t = plan.tuning.transpose;
  Chord shifted = chord;
  shifted.root = wrap12(chord.root - t);
  std::array<int, 6> v = guitar_voicing(shifted, position);
  for (int& n : v)
    if (n >= 0) n += t;
  const int others = static_cast<int>(std::count_if(v.begin() + 1, v.end(), [](int n) { return n >= 0; }));
  if (plan.tuning.drop != 0 && v[0] >= 0 && others >= 3) v[0] = -1;
  return v;
}

// Root, fifth and octave with the root on the low string (one finger in a drop tuning) or the next one,
// near `position`.
std::array<int, 3> tuned_power_chord(const SongPlan& plan, const Chord& chord, int position) {
  const std::array<int, 6> strings = plan.tuning.strings();
  const int on_low = strings[0] + wrap12(chord.root - strings[0]);
  const int on_next = strings[1] + wrap12(chord.root - strings[1]);
  const int target = strings[0] + position;
  const int root = std::abs(on_low - target) <= std::abs(on_next - 5 - target) ? on_low : on_next;
  return {root, root + 7, root + 12};
}

std::vector<int> played(const std::array<int, 6>& voicing) {
  std::vector<int> notes;
  for (int n : voicing)
    if (n >= 0) notes.push_back(n);
  return notes;
}

// The beat where the sound started at `beat` must stop: next onset, chord change or section end.
double ring_until(const SongPlan& plan, double beat, double next_onset, double section_end) {
  double end = std::min(next_onset, section_end);
  for (const ChordSpan& c : plan.chords)
    if (c.start_beat > beat + 1e-9) {
      end = std::min(end, c.start_beat);
      break;
    }
  return end;
}

void strum_section(const SongPlan& plan, const Part& part, const GuitarStyle& style, const Section& section,
                   BeatRange range, NoteWriter& out) {
  Rng& rng = out.rng();
  const std::string& rhythm = style.strum[static_cast<int>(section.kind)];
  const auto slots = static_cast<int>(std::llround((range.end - range.begin) / style.grid));
  auto stroke_at = [&](int slot) { return rhythm[static_cast<std::size_t>(slot) % rhythm.size()]; };
  for (int slot = 0; slot < slots; ++slot) {
    const char stroke = stroke_at(slot);
    if (stroke == '.') continue;
    const double beat = range.begin + slot * style.grid;
    int next = slot + 1;
    while (next < slots && stroke_at(next) == '.') ++next;
    const double end = ring_until(plan, beat, range.begin + next * style.grid, range.end);
    const std::vector<int> notes = played(tuned_voicing(plan, chord_at(plan, beat), part.fret_position));
    const bool down = stroke == 'D';
    const bool on_beat = std::abs(beat - std::round(beat)) < 1e-9;
    const double base = down ? (on_beat ? 88 : 76) : 64;
    const int strum_velocity = velocity(base, section.intensity, rng, 5.0);
    // Down strokes sweep from the bass string up, sometimes missing the top string; up strokes catch
    // the top three or four strings, high to low.
    std::vector<int> order = notes;
    if (down) {
      if (order.size() > 4 && rng.chance(0.2)) order.pop_back();
    } else {
      const std::size_t keep = std::min<std::size_t>(order.size(), rng.chance(0.5) ? 3 : 4);
      order.erase(order.begin(), order.end() - static_cast<std::ptrdiff_t>(keep));
      std::reverse(order.begin(), order.end());
    }
    const double speed = (down ? 1.0 : 0.8) * rng.uniform(0.75, 1.25);
    double delay = 0;
    for (std::size_t k = 0; k < order.size(); ++k) {
      if (k > 0) delay += style.string_delay_s * speed * rng.uniform(0.8, 1.2);
      const int v = static_cast<int>(std::lround(strum_velocity * (1.0 - 0.03 * static_cast<double>(k)))) +
                    rng.integer(-4, 4);
      out.add(beat, end - beat, order[k], v, delay);
    }
  }
}

void arpeggio_section(const SongPlan& plan, const Part& part, const GuitarStyle& style, const Section& section,
                      BeatRange range, NoteWriter& out) {
  Rng& rng = out.rng();
  const std::vector<int>& order = style.arpeggio[static_cast<int>(section.kind)];
  const auto slots = static_cast<int>(std::llround((range.end - range.begin) / style.grid));
  for (int slot = 0; slot < slots; ++slot) {
    const double beat = range.begin + slot * style.grid;
    const std::vector<int> notes = played(tuned_voicing(plan, chord_at(plan, beat), part.fret_position));
    const int rank = order[static_cast<std::size_t>(slot) % order.size()];
    const int key = notes[static_cast<std::size_t>(std::min<int>(rank, static_cast<int>(notes.size()) - 1))];
    const double end = ring_until(plan, beat, beat + style.ring_beats, range.end);
    out.add(beat, end - beat, key, velocity(rank == 0 ? 80 : 70, section.intensity, rng));
  }
}

void pick_section(const SongPlan& plan, const Part& part, const GuitarStyle& style, const Section& section,
                  BeatRange range, NoteWriter& out) {
  Rng& rng = out.rng();
  const Riff& riff = style.riff[static_cast<int>(section.kind)];
  const double slot_beats = 0.5;
  const bool staccato = part.guitar_kind == GuitarKind::DistortedElectric && rng.chance(0.5);
  int previous = -1;
  for (double bar = range.begin; bar < range.end - 1e-9; bar += plan.beats_per_bar) {
    for (std::size_t i = 0; i < riff.steps.size(); ++i) {
      const Riff::Step& step = riff.steps[i];
      const double beat = bar + step.slot * slot_beats;
      if (beat >= range.end - 1e-9) break;
      const Chord& chord = chord_at(plan, beat);
      int key;
      if (step.chord_tone || previous < 0) {
        const int base = nearest_pitch(chord.root, 52 + part.fret_position);
        const auto n = static_cast<int>(chord.intervals.size());
        const int index = step.chord_tone ? step.value : 0;
        key = base + chord.intervals[static_cast<std::size_t>(index % n)] + 12 * (index / n);
      } else {
        key = scale_step(plan.key, plan.mode, previous, step.value);
      }
      while (key > 81) key -= 12;
      while (key < 45) key += 12;
      previous = key;
      const int next_slot = i + 1 < riff.steps.size() ? riff.steps[i + 1].slot : riff.slots;
      const double length = (next_slot - step.slot) * slot_beats * (staccato ? 0.5 : 0.92);
      out.add(beat, std::min(length, range.end - beat), key, velocity(step.slot % 2 == 0 ? 84 : 74, section.intensity, rng));
    }
  }
}

void power_section(const SongPlan& plan, const Part& part, const GuitarStyle& style, const Section& section,
                   BeatRange range, NoteWriter& out) {
  Rng& rng = out.rng();
  const std::string& rhythm = style.chug[static_cast<int>(section.kind)];
  // Choruses ring; verses are palm-muted chugs.
  const bool muted = section.kind != SectionKind::Chorus;
  const double grid = 0.5;
  const auto slots = static_cast<int>(std::llround((range.end - range.begin) / grid));
  for (int slot = 0; slot < slots; ++slot) {
    if (rhythm[static_cast<std::size_t>(slot) % rhythm.size()] == '.') continue;
    const double beat = range.begin + slot * grid;
    int next = slot + 1;
    while (next < slots && rhythm[static_cast<std::size_t>(next) % rhythm.size()] == '.') ++next;
    const double end = ring_until(plan, beat, range.begin + next * grid, range.end);
    const double length = muted ? std::min(end - beat, grid * 0.45) : end - beat;
    const auto notes = tuned_power_chord(plan, chord_at(plan, beat), part.fret_position);
    const int v = velocity(slot % 2 == 0 ? 92 : 80, section.intensity, rng, 4.0);
    for (std::size_t k = 0; k < notes.size(); ++k)
      out.add(beat, length, notes[k], v - 2 * static_cast<int>(k), static_cast<double>(k) * 0.003);
  }
}

// The song's riff, bar after bar: chugs are short and soft-attacked (palm-muted), accents ring as power
// chords, single notes ring until the next step.
void riff_section(const SongPlan& plan, const Part& part, const Section& section, BeatRange range, NoteWriter& out) {
  Rng& rng = out.rng();
  const std::vector<RiffStep> riff = song_riff(plan);
  const double sixteenth = 0.25;
  const int low = plan.tuning.strings()[0];
  for (double bar = range.begin; bar < range.end - 1e-9; bar += plan.beats_per_bar) {
    for (const RiffStep& step : riff) {
      const double beat = bar + step.slot * sixteenth;
      if (beat >= range.end - 1e-9) break;
      const Chord& chord = chord_at(plan, beat);
      const double length = std::min(step.length * sixteenth, range.end - beat);
      const int root = low + wrap12(chord.root - low) + (part.fret_position > 7 ? 12 : 0);
      switch (step.kind) {
        case 'x':
          out.add(beat, std::min(length, 0.2), root, velocity(step.slot % 4 == 0 ? 84 : 74, section.intensity, rng, 4.0));
          break;
        case 'O': {
          const auto notes = tuned_power_chord(plan, chord, part.fret_position);
          const int v = velocity(98, section.intensity, rng, 4.0);
          for (std::size_t k = 0; k < notes.size(); ++k)
            out.add(beat, length * 0.95, notes[k], v - 2 * static_cast<int>(k), static_cast<double>(k) * 0.003);
          break;
        }
        default:
          out.add(beat, length * 0.9, root + step.interval, velocity(88, section.intensity, rng, 4.0));
          break;
      }
    }
  }
}

}  // namespace

void guitar_notes(const SongPlan& plan, const Part& part, NoteWriter& out) {
  Rng& rng = out.rng();
  GuitarStyle style;
  style.string_delay_s = rng.uniform(0.006, 0.016);
  style.grid = plan.bpm < 85 && rng.chance(0.5) ? 0.25 : 0.5;
  style.ring_beats = rng.uniform(1.0, 3.0);
  const bool waltz = plan.beats_per_bar == 3;
  for (int k = 0; k < 5; ++k) {
    const auto kind = static_cast<SectionKind>(k);
    // Choruses lean to the busier strums (listed later).
    const auto& strums = waltz ? kStrums34 : kStrums44;
    const auto lo = kind == SectionKind::Chorus ? strums.size() / 2 : 0;
    const auto hi = kind == SectionKind::Chorus ? strums.size() - 1 : strums.size() / 2 + 1;
    style.strum[k] = strums[lo + static_cast<std::size_t>(rng.integer(0, static_cast<int>(hi - lo)))];
    style.arpeggio[k] = rng.pick(waltz ? kArpeggios34 : kArpeggios44);
    style.chug[k] = rng.pick(waltz ? kChugs34 : kChugs44);
    style.riff[k] = make_riff(rng, plan.beats_per_bar);
  }
  for (std::size_t s = 0; s < plan.sections.size(); ++s) {
    const BeatRange range = section_beats(plan, s);
    const Section& section = plan.sections[s];
    switch (part.pattern_by_section[s]) {
      case Pattern::GuitarStrum: strum_section(plan, part, style, section, range, out); break;
      case Pattern::GuitarArpeggio: arpeggio_section(plan, part, style, section, range, out); break;
      case Pattern::GuitarPick: pick_section(plan, part, style, section, range, out); break;
      case Pattern::GuitarPowerChords: power_section(plan, part, style, section, range, out); break;
      case Pattern::GuitarRiff: riff_section(plan, part, section, range, out); break;
      case Pattern::GuitarLead: guitar_lead_section(plan, part, s, out); break;
      default: break;
    }
  }
}

}  // namespace unmix::synth
