#pragma once
// A synthetic multitrack corpus in MedleyDB's layout, rendered in parallel.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "unmix/audio.h"
#include "unmix/synth/mixdown.h"
#include "unmix/synth/instruments.h"
#include "unmix/synth/song_plan.h"
#include "unmix/synth/soundfonts.h"

namespace unmix::synth {

struct CorpusOptions {
  std::filesystem::path out;
  int songs = 8;
  int first_song = 0;    // song indices first_song .. first_song + songs - 1 (extends a corpus)
  double seconds = 30;   // length of every song
  std::uint64_t seed = 0;
  std::vector<std::filesystem::path> soundfonts;  // empty: installed_gm_soundfonts()
  std::vector<GuitarKind> guitar_kinds;           // empty: all kinds
  int jobs = 0;          // worker threads; 0: one per hardware thread
  bool resume = false;   // keep track folders that already exist instead of refusing to start
  int sample_rate = 44100;
  bool mastering = true;  // the mix bus (compressor, limiter, drawn loudness); off: today's plain sum
  bool plugins = true;    // LV2 guitar chains and per-stem mix processing; off: FluidSynth's renders as they are
  bool raw = false;       // also write each stem's dry render to <Track>_RAW/ (MedleyDB's raw tracks)
};

struct CorpusProgress {
  int songs_total = 0, songs_done = 0, songs_skipped = 0;
  std::int64_t stems_total = 0, stems_done = 0;
  double seconds_elapsed = 0;
  double seconds_left = -1;  // from the stems rendered so far; < 0 until the first one is done
  double fraction() const {
    return stems_total > 0 ? static_cast<double>(stems_done) / static_cast<double>(stems_total) : 1.0;
  }
};

struct CorpusResult {
  std::vector<std::string> tracks_written;  // in song order
  int songs_skipped = 0;                    // existing folders kept (resume)
  bool interrupted = false;
  double audio_seconds = 0;                 // song time rendered (mix length x songs written)
  double seconds_elapsed = 0;
  std::vector<std::string> soundfonts;      // names of the fonts the corpus drew from
};

// Renders songs first_song.. into options.out/<Track>/ (MedleyDB layout). Each song is written into a
// hidden temporary folder and renamed into place when complete, so a folder named after a track is
// always whole. Work is split into one task per stem across `jobs` threads, each with its own synth.
// Raising *stop abandons unfinished songs (their temporary folders are removed) and returns with
// interrupted = true. Any failure, including an exception thrown by `progress`, stops the run, removes
// unfinished songs and is rethrown. Output bytes depend on the options only, never on `jobs`.
CorpusResult synthesize_corpus(const CorpusOptions& options, const std::atomic<bool>* stop = nullptr,
                               const std::function<void(const CorpusProgress&)>& progress = {});

// Writes one finished song into `track_dir` (which must not exist) via a temporary sibling folder.
// `raw`: the dry renders to write to <Track>_RAW/, or empty.
void write_song(const std::filesystem::path& track_dir, const SongPlan& plan, const SoundfontSet& fonts,
                std::vector<PlacedStem> stems, const std::vector<Audio>& raw = {});

}  // namespace unmix::synth
