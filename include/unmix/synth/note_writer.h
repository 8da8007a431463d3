#pragma once
// Shared by the per-role note generators (src/synth/notes_*.cpp): beat-to-frame timing with swing and
// humanized onsets, and one generator function per role.
#include <vector>

#include "unmix/synth/midi_events.h"
#include "unmix/synth/random.h"
#include "unmix/synth/song_plan.h"

namespace unmix::synth {

class NoteWriter {
 public:
  NoteWriter(const SongPlan& plan, const Part& part);

  // A note from `beat` (counted from the start of the song) lasting `beats`; `delay_s` shifts the onset
  // only (a strummed string sounds a little after the one before it).
  void add(double beat, double beats, int key, int velocity, double delay_s = 0.0);
  Rng& rng() { return rng_; }
  // Clipped to the song, sorted, and every note cut at the next onset of its key (a re-struck string).
  std::vector<Note> finish();

 private:
  double seconds_at(double beat) const;  // swing moves off-beat eighths late

  const SongPlan& plan_;
  double jitter_s_;
  Rng rng_;
  std::vector<Note> notes_;
};

struct BeatRange {
  double begin = 0, end = 0;
};
BeatRange section_beats(const SongPlan& plan, std::size_t section);
// Chord spans overlapping [begin, end), clipped to it.
std::vector<ChordSpan> chords_between(const SongPlan& plan, double begin, double end);
// The chord sounding at `beat`.
const Chord& chord_at(const SongPlan& plan, double beat);
// MIDI velocity from a base (0..127) scaled by section intensity, with a little randomness, in [1, 127].
int velocity(double base, double intensity, Rng& rng, double spread = 6.0);

void guitar_notes(const SongPlan& plan, const Part& part, NoteWriter& out);
void bass_notes(const SongPlan& plan, const Part& part, NoteWriter& out);
void drum_notes(const SongPlan& plan, const Part& part, NoteWriter& out);
void keys_notes(const SongPlan& plan, const Part& part, NoteWriter& out);  // keys and pads
void lead_notes(const SongPlan& plan, const Part& part, NoteWriter& out);

}  // namespace unmix::synth
