#pragma once
// MIDI events for one part of a song plan, timed in sample frames.
#include <cstdint>
#include <vector>

#include "unmix/synth/song_plan.h"

namespace unmix::synth {

struct MidiEvent {
  enum class Type { NoteOff, ControlChange, NoteOn };  // the order of events that share a frame
  std::int64_t frame = 0;
  Type type = Type::NoteOn;
  int channel = 0;
  int data1 = 0;  // key or controller
  int data2 = 0;  // velocity or value
};

struct Note {
  std::int64_t start = 0, end = 0;  // frames, end exclusive
  int key = 0, velocity = 0;
};

// The notes of part `part_index` as composed: strums, riffs, grooves, melodies, with humanized timing.
// Notes lie within [0, plan.frames); a note never outlasts the next onset of the same key.
std::vector<Note> part_notes(const SongPlan& plan, std::size_t part_index);

// Channel set-up (volume, pan centre, reverb/chorus sends) followed by the notes as note-on/off pairs,
// sorted by frame (note-offs before control changes before note-ons at the same frame).
std::vector<MidiEvent> part_events(const SongPlan& plan, std::size_t part_index);

int part_channel(const Part& part);  // kDrumChannel for drums, 0 otherwise

}  // namespace unmix::synth
