// From a song plan to timed notes and MIDI events: the timing, humanization and clean-up shared by
// every role; the musical content comes from notes_<role>.cpp.
#include "unmix/synth/midi_events.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "unmix/error.h"
#include "unmix/synth/note_writer.h"

namespace unmix::synth {

NoteWriter::NoteWriter(const SongPlan& plan, const Part& part)
    : plan_(plan), jitter_s_(part.timing_jitter_ms / 1000.0), rng_(part.seed), performance_(part.performance_seed) {}

int pitch_bend_value(double semitones) {
  const double wheel = std::clamp(semitones / kBendRange, -1.0, 1.0);
  return std::clamp(static_cast<int>(std::lround(8192.0 + wheel * 8191.0)), 0, 16383);
}

double NoteWriter::seconds_at(double beat) const {
  const double whole = std::floor(beat);
  if (plan_.swing > 0 && std::abs(beat - whole - 0.5) < 1e-6) beat += plan_.swing / 6.0;
  return beat * plan_.seconds_per_beat();
}

std::optional<NoteWriter::Placed> NoteWriter::add(double beat, double beats, int key, int velocity, double delay_s) {
  if (key < 0 || key > 127) return std::nullopt;
  const double jitter = std::clamp(performance_.normal(), -2.5, 2.5) * jitter_s_;
  const double start_s = std::max(0.0, seconds_at(beat) + delay_s + jitter);
  const double end_s = std::max(start_s + 0.02, seconds_at(beat + beats) + 0.5 * jitter);
  const auto rate = static_cast<double>(plan_.sample_rate);
  Note note;
  note.start = std::llround(start_s * rate);
  note.end = std::min(plan_.frames, static_cast<std::int64_t>(std::llround(end_s * rate)));
  note.key = key;
  note.velocity = std::clamp(velocity + performance_.integer(-3, 3), 1, 127);
  if (note.start >= plan_.frames || note.end <= note.start) return std::nullopt;
  notes_.push_back(note);
  return Placed{note.start, note.end};
}

void NoteWriter::bend(std::int64_t frame, double semitones) {
  if (frame < 0 || frame >= plan_.frames) return;
  bends_.push_back({frame, std::clamp(semitones, -double(kBendRange), double(kBendRange))});
}

std::vector<PitchBend> NoteWriter::finish_bends() {
  std::vector<PitchBend> bends = std::move(bends_);
  bends_.clear();
  std::stable_sort(bends.begin(), bends.end(), [](const PitchBend& a, const PitchBend& b) { return a.frame < b.frame; });
  return bends;
}

std::vector<Note> NoteWriter::finish() {
  std::vector<Note> notes = std::move(notes_);
  notes_.clear();
  std::stable_sort(notes.begin(), notes.end(), [](const Note& a, const Note& b) {
    return a.key != b.key ? a.key < b.key : a.start < b.start;
  });
  // A note-off would also silence a later onset of the same key that began before it: cut each note at
  // the next onset of its key, and drop a note that a second onset at the same frame replaces.
  std::vector<Note> kept;
  kept.reserve(notes.size());
  for (std::size_t i = 0; i < notes.size(); ++i) {
    Note note = notes[i];
    if (i + 1 < notes.size() && notes[i + 1].key == note.key) {
      if (notes[i + 1].start <= note.start) continue;
      note.end = std::min(note.end, notes[i + 1].start);
    }
    kept.push_back(note);
  }
  std::stable_sort(kept.begin(), kept.end(), [](const Note& a, const Note& b) {
    return a.start != b.start ? a.start < b.start : a.key < b.key;
  });
  return kept;
}

BeatRange section_beats(const SongPlan& plan, std::size_t section) {
  const Section& s = plan.sections.at(section);
  return {static_cast<double>(s.first_bar) * plan.beats_per_bar,
          static_cast<double>(s.first_bar + s.bars) * plan.beats_per_bar};
}

std::vector<ChordSpan> chords_between(const SongPlan& plan, double begin, double end) {
  std::vector<ChordSpan> spans;
  for (const ChordSpan& c : plan.chords) {
    const double b = std::max(begin, c.start_beat), e = std::min(end, c.start_beat + c.beats);
    if (e - b > 1e-9) spans.push_back({b, e - b, c.chord});
  }
  return spans;
}

const Chord& chord_at(const SongPlan& plan, double beat) {
  for (const ChordSpan& c : plan.chords)
    if (beat < c.start_beat + c.beats - 1e-9) return c.chord;
  return plan.chords.back().chord;
}

int velocity(double base, double intensity, Rng& rng, double spread) {
  const double v = base * (0.75 + 0.35 * intensity) + spread * std::clamp(rng.normal(), -2.0, 2.0);
  return std::clamp(static_cast<int>(std::lround(v)), 1, 127);
}

int part_channel(const Part& part) { return part.role == Role::Drums ? kDrumChannel : 0; }

std::vector<Note> part_notes(const SongPlan& plan, std::size_t part_index) {
  return part_performance(plan, part_index).notes;
}

Performance part_performance(const SongPlan& plan, std::size_t part_index) {
  const Part& part = plan.parts.at(part_index);
  if (part.pattern_by_section.size() != plan.sections.size())
    fail(plan.track_id, "part " + std::to_string(part_index) + " has no pattern for every section");
  NoteWriter out(plan, part);
  switch (part.role) {
    case Role::Guitar: guitar_notes(plan, part, out); break;
    case Role::Bass: bass_notes(plan, part, out); break;
    case Role::Drums: drum_notes(plan, part, out); break;
    case Role::Keys:
    case Role::Pad: keys_notes(plan, part, out); break;
    case Role::Lead: lead_notes(plan, part, out); break;
  }
  Performance performance;
  performance.notes = out.finish();
  performance.bends = out.finish_bends();
  return performance;
}

std::vector<MidiEvent> part_events(const SongPlan& plan, std::size_t part_index) {
  const Part& part = plan.parts.at(part_index);
  const int channel = part_channel(part);
  using Type = MidiEvent::Type;
  std::vector<MidiEvent> events = {
      {0, Type::ControlChange, channel, 7, 100},  // volume
      {0, Type::ControlChange, channel, 10, 64},  // pan centred: the stem is panned after rendering
      {0, Type::ControlChange, channel, 11, 127},  // expression
      {0, Type::ControlChange, channel, 91, part.mix.reverb ? part.mix.reverb_send : 0},
      {0, Type::ControlChange, channel, 93, part.mix.chorus ? part.mix.chorus_send : 0},
  };
  const Performance performance = part_performance(plan, part_index);
  for (const Note& note : performance.notes) {
    events.push_back({note.start, Type::NoteOn, channel, note.key, note.velocity});
    events.push_back({note.end, Type::NoteOff, channel, note.key, 0});
  }
  for (const PitchBend& bend : performance.bends)
    events.push_back({bend.frame, Type::PitchBend, channel, pitch_bend_value(bend.semitones), 0});
  std::stable_sort(events.begin(), events.end(), [](const MidiEvent& a, const MidiEvent& b) {
    if (a.frame != b.frame) return a.frame < b.frame;
    return static_cast<int>(a.type) < static_cast<int>(b.type);
  });
  return events;
}

}  // namespace unmix::synth
