#pragma once
// MIDI events for one part of a song plan, timed in sample frames.
#include <cstdint>
#include <vector>

#include "unmix/synth/song_plan.h"

namespace unmix::synth {

struct MidiEvent {
  // the order of events that share a frame: a bend reset lands before the note it belongs to
  enum class Type { NoteOff, ControlChange, PitchBend, NoteOn };
  std::int64_t frame = 0;
  Type type = Type::NoteOn;
  int channel = 0;
  int data1 = 0;  // key, controller, or the 14-bit pitch-bend value (8192 = no bend)
  int data2 = 0;  // velocity or value
};

struct Note {
  std::int64_t start = 0, end = 0;  // frames, end exclusive
  int key = 0, velocity = 0;
};

// The pitch wheel at `frame`, in semitones (within +-kBendRange).
struct PitchBend {
  std::int64_t frame = 0;
  double semitones = 0;
};
inline constexpr int kBendRange = 2;  // semitones at full wheel: FluidSynth's (and GM's) default sensitivity
int pitch_bend_value(double semitones);  // 0..16383

// A part as performed: its notes and, for lead lines, the pitch wheel.
struct Performance {
  std::vector<Note> notes;
  std::vector<PitchBend> bends;  // sorted by frame
};

// The notes of part `part_index` as composed: strums, riffs, grooves, melodies, with humanized timing.
// Notes lie within [0, plan.frames); a note never outlasts the next onset of the same key.
std::vector<Note> part_notes(const SongPlan& plan, std::size_t part_index);
Performance part_performance(const SongPlan& plan, std::size_t part_index);

// Channel set-up (volume, pan centre, reverb/chorus sends) followed by the notes as note-on/off pairs and
// the pitch bends, sorted by frame (note-offs, control changes, bends, note-ons at the same frame).
std::vector<MidiEvent> part_events(const SongPlan& plan, std::size_t part_index);

int part_channel(const Part& part);  // kDrumChannel for drums, 0 otherwise

}  // namespace unmix::synth
