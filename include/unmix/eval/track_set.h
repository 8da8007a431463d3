#pragma once
// Where the tracks to evaluate come from, and where a method's estimates for them are.
//
// Two layouts of true sources:
//   references folder   <dir>/<source>.wav ... (one track, named after <dir>), or <dir>/<track>/<source>.wav
//                       (one track per subfolder). mixture.<ext> or mix.<ext> is the mixture, not a source;
//                       without one the mixture is the sum of the sources.
//   dataset + manifest  a MedleyDB-layout root and a manifest (include/unmix/data/manifest.h): per track of a
//                       split, the source <target> = the sum of the target stems, "residual" = every other
//                       stem, the mixture = the track's mix file (unmix::data::TrackReader aligns them all).
// Estimates of a method: <dir>/<track>/<source>.<ext>, or <dir>/<source>.<ext> for a single track
// (tools/separate writes <outdir>/<file stem>/<target>.wav and residual.wav). "residual" and
// "accompaniment" stand in for each other. Audio extensions: wav, flac, ogg, opus, mp3.
#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "unmix/audio.h"
#include "unmix/data/manifest.h"

namespace unmix::eval {

struct EvalTrack {
  std::string name;
  std::vector<std::string> source_names;
  std::vector<Audio> sources;      // same rate, channels and length
  Audio mixture;                   // same shape as the sources
  std::vector<std::string> notes;  // what was odd but usable (resampled, padded, summed mixture, ...)
};

class TrackSet {
 public:
  virtual ~TrackSet() = default;
  virtual std::size_t size() const = 0;
  virtual std::string name(std::size_t index) const = 0;
  // Reads and aligns one track; throws unmix::Error naming the file for unusable input.
  virtual EvalTrack load(std::size_t index) const = 0;
  // True when the estimates of a method sit directly in its folder (one track, references folder layout).
  virtual bool single_track() const { return false; }
};

// Throws unmix::Error when the folder is missing or holds neither audio files nor track subfolders.
std::unique_ptr<TrackSet> folder_tracks(const std::filesystem::path& references);

// Tracks of `split` in the manifest (every track when nullopt), read at `sample_rate` in `channels` (1 or 2).
std::unique_ptr<TrackSet> manifest_tracks(const std::filesystem::path& root, const std::filesystem::path& manifest,
                                          std::optional<data::Split> split, const std::string& target_name,
                                          int sample_rate = 44100, int channels = 2);

bool is_audio_file(const std::filesystem::path& path);

// The estimate of `source` for `track` in a method's folder; nullopt when there is none.
std::optional<std::filesystem::path> find_estimate(const std::filesystem::path& method_dir, const std::string& track,
                                                   const std::string& source, bool single_track);

// museval.pad_or_truncate: zero-pads or cuts `audio` at the end to `frames`.
void pad_or_truncate(Audio& audio, std::int64_t frames);

}  // namespace unmix::eval
