#pragma once
// Shared by the per-role note generators (src/synth/notes_*.cpp): beat-to-frame timing with swing and
// humanized onsets, and one generator function per role.
#include <optional>
#include <vector>

#include "unmix/synth/midi_events.h"
#include "unmix/synth/random.h"
#include "unmix/synth/song_plan.h"

namespace unmix::synth {

class NoteWriter {
 public:
  NoteWriter(const SongPlan& plan, const Part& part);

  // A note from `beat` (counted from the start of the song) lasting `beats`; `delay_s` shifts the onset
  // only (a strummed string sounds a little after the one before it). Returns the note's onset and end
  // frames as humanized, or nullopt when it falls outside the song.
  struct Placed {
    std::int64_t start, end;
  };
  std::optional<Placed> add(double beat, double beats, int key, int velocity, double delay_s = 0.0);
  // The pitch wheel at `frame` (lead lines: bends, slides, vibrato).
  void bend(std::int64_t frame, double semitones);
  // The composition's random stream (what is played); timing and velocity humanization draw from the
  // part's performance stream, so a double-tracked part plays the same notes differently.
  Rng& rng() { return rng_; }
  int sample_rate() const { return plan_.sample_rate; }
  // Clipped to the song, sorted, and every note cut at the next onset of its key (a re-struck string).
  std::vector<Note> finish();
  std::vector<PitchBend> finish_bends();

 private:
  double seconds_at(double beat) const;  // swing moves off-beat eighths late

  const SongPlan& plan_;
  double jitter_s_;
  Rng rng_, performance_;
  std::vector<Note> notes_;
  std::vector<PitchBend> bends_;
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

// The song's riff (from plan.riff_seed): one bar on a sixteenth grid, the same for every part that plays
// it, so a bass doubling the guitars plays exactly their rhythm.
struct RiffStep {
  int slot = 0;      // sixteenth within the bar
  char kind = 'x';   // x palm-muted chug on the root, O ringing power chord, n single note
  int interval = 0;  // n: semitones above the chord root (a minor-pentatonic or blues tone)
  int length = 1;    // sixteenths until the next step (or the bar's end)
};
std::vector<RiffStep> song_riff(const SongPlan& plan);

void guitar_notes(const SongPlan& plan, const Part& part, NoteWriter& out);
// A lead guitar's line over section `section`: pentatonic phrases with bends, slides and vibrato on the
// pitch wheel (the part must be monophonic, which a lead line is).
void guitar_lead_section(const SongPlan& plan, const Part& part, std::size_t section, NoteWriter& out);
void bass_notes(const SongPlan& plan, const Part& part, NoteWriter& out);
void drum_notes(const SongPlan& plan, const Part& part, NoteWriter& out);
void keys_notes(const SongPlan& plan, const Part& part, NoteWriter& out);  // keys and pads
void lead_notes(const SongPlan& plan, const Part& part, NoteWriter& out);

}  // namespace unmix::synth
