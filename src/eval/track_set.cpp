#include "unmix/eval/track_set.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "unmix/data/dataset.h"
#include "unmix/error.h"

namespace unmix::eval {
namespace fs = std::filesystem;

namespace {

constexpr std::array<const char*, 5> kAudioExtensions = {".wav", ".flac", ".ogg", ".opus", ".mp3"};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool is_mixture_name(const std::string& stem) {
  const std::string s = lower(stem);
  return s == "mixture" || s == "mix";
}

std::vector<fs::path> audio_files(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_regular_file() && is_audio_file(entry.path())) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

Audio sum_of(const std::vector<Audio>& sources) {
  Audio mix = sources.front();
  for (std::size_t j = 1; j < sources.size(); ++j)
    for (std::size_t i = 0; i < mix.samples.size(); ++i) mix.samples[i] += sources[j].samples[i];
  return mix;
}

// One folder of per-source files is one track.
EvalTrack load_folder_track(const std::string& name, const fs::path& dir) {
  EvalTrack track;
  track.name = name;
  std::optional<fs::path> mixture_file;
  for (const fs::path& file : audio_files(dir)) {
    const std::string stem = file.stem().string();
    if (is_mixture_name(stem)) {
      if (mixture_file) fail(file, "a second mixture file next to " + mixture_file->filename().string());
      mixture_file = file;
      continue;
    }
    if (std::find(track.source_names.begin(), track.source_names.end(), stem) != track.source_names.end())
      fail(file, "a second file for source '" + stem + "'");
    Audio audio = read_audio(file);
    if (!track.sources.empty()) {
      const Audio& first = track.sources.front();
      if (audio.sample_rate != first.sample_rate)
        fail(file, std::to_string(audio.sample_rate) + " Hz, but " + track.source_names.front() + " is " +
                       std::to_string(first.sample_rate) + " Hz");
      if (audio.channels != first.channels)
        fail(file, std::to_string(audio.channels) + " channels, but " + track.source_names.front() + " has " +
                       std::to_string(first.channels));
      if (audio.frames != first.frames)
        fail(file, std::to_string(audio.frames) + " samples, but " + track.source_names.front() + " has " +
                       std::to_string(first.frames) + " (references must be equally long)");
    }
    track.source_names.push_back(stem);
    track.sources.push_back(std::move(audio));
  }
  if (track.sources.empty()) fail(dir, "no source files (WAV, FLAC, OGG, Opus or MP3)");
  if (mixture_file) {
    Audio mix = read_audio(*mixture_file);
    const Audio& first = track.sources.front();
    if (mix.sample_rate != first.sample_rate || mix.channels != first.channels)
      fail(*mixture_file, "rate or channel count differs from the sources");
    if (mix.frames != first.frames) {
      track.notes.push_back(mixture_file->string() + ": " + std::to_string(mix.frames) + " samples, padded or cut to " +
                            std::to_string(first.frames));
      pad_or_truncate(mix, first.frames);
    }
    track.mixture = std::move(mix);
  } else {
    track.mixture = sum_of(track.sources);
  }
  return track;
}

class FolderTracks : public TrackSet {
 public:
  explicit FolderTracks(const fs::path& root) : root_(root) {
    if (!fs::is_directory(root)) fail(root, "not a folder");
    if (!audio_files(root).empty()) {
      single_ = true;
      names_.push_back(fs::absolute(root).lexically_normal().filename().string());
      if (names_.back().empty()) names_.back() = fs::absolute(root).lexically_normal().parent_path().filename().string();
      return;
    }
    for (const auto& entry : fs::directory_iterator(root))
      if (entry.is_directory() && !audio_files(entry.path()).empty()) names_.push_back(entry.path().filename().string());
    std::sort(names_.begin(), names_.end());
    if (names_.empty()) fail(root, "holds neither audio files nor track folders with audio files");
  }
  std::size_t size() const override { return names_.size(); }
  std::string name(std::size_t i) const override { return names_.at(i); }
  EvalTrack load(std::size_t i) const override {
    return load_folder_track(names_.at(i), single_ ? root_ : root_ / names_.at(i));
  }
  bool single_track() const override { return single_; }

 private:
  fs::path root_;
  bool single_ = false;
  std::vector<std::string> names_;
};

class ManifestTracks : public TrackSet {
 public:
  ManifestTracks(const fs::path& root, const fs::path& manifest, std::optional<data::Split> split,
                 std::string target_name, int sample_rate, int channels)
      : manifest_(data::load_manifest(manifest)), target_(std::move(target_name)),
        reader_(root, [&] {
          data::ReadOptions o;
          o.sample_rate = sample_rate;
          o.channels = channels;
          return o;
        }()) {
    if (!fs::is_directory(root)) fail(root, "dataset root is not a folder");
    if (target_.empty() || lower(target_) == "residual") fail("--target", "needs a name other than 'residual'");
    if (split) {
      tracks_ = manifest_.tracks_in(*split);
    } else {
      for (const auto& t : manifest_.tracks) tracks_.push_back(&t);
    }
    if (tracks_.empty())
      fail(manifest, split ? "no tracks in the " + std::string(data::split_name(*split)) + " split" : "no tracks");
  }
  std::size_t size() const override { return tracks_.size(); }
  std::string name(std::size_t i) const override { return tracks_.at(i)->id; }
  EvalTrack load(std::size_t i) const override {
    data::TrackAudio audio = reader_.read(*tracks_.at(i));
    EvalTrack track;
    track.name = audio.id;
    for (const auto& issue : audio.issues) track.notes.push_back(issue.to_string());
    if (!audio.usable()) fail(track.name, "no readable target stem");
    track.source_names = {target_, "residual"};
    track.sources.push_back(std::move(audio.target));
    track.sources.push_back(std::move(audio.interferers));
    track.mixture = std::move(audio.mix);
    if (!audio.mix_from_file) track.notes.push_back(track.name + ": no readable mix file; the mixture is the stems' sum");
    return track;
  }

 private:
  data::Manifest manifest_;
  std::string target_;
  data::TrackReader reader_;
  std::vector<const data::ManifestTrack*> tracks_;
};

}  // namespace

bool is_audio_file(const fs::path& path) {
  const std::string ext = lower(path.extension().string());
  return std::find(kAudioExtensions.begin(), kAudioExtensions.end(), ext) != kAudioExtensions.end();
}

std::unique_ptr<TrackSet> folder_tracks(const fs::path& references) { return std::make_unique<FolderTracks>(references); }

std::unique_ptr<TrackSet> manifest_tracks(const fs::path& root, const fs::path& manifest,
                                          std::optional<data::Split> split, const std::string& target_name,
                                          int sample_rate, int channels) {
  return std::make_unique<ManifestTracks>(root, manifest, split, target_name, sample_rate, channels);
}

std::optional<fs::path> find_estimate(const fs::path& method_dir, const std::string& track, const std::string& source,
                                      bool single_track) {
  std::vector<std::string> names = {source};
  if (lower(source) == "residual") names.push_back("accompaniment");
  if (lower(source) == "accompaniment") names.push_back("residual");
  std::vector<fs::path> dirs = {method_dir / track};
  if (single_track) dirs.push_back(method_dir);
  for (const auto& dir : dirs) {
    if (!fs::is_directory(dir)) continue;
    for (const auto& name : names)
      for (const char* ext : kAudioExtensions) {
        const fs::path candidate = dir / (name + ext);
        if (fs::is_regular_file(candidate)) return candidate;
      }
  }
  return std::nullopt;
}

void pad_or_truncate(Audio& audio, std::int64_t frames) {
  if (audio.frames == frames) return;
  std::vector<float> out(static_cast<std::size_t>(audio.channels) * static_cast<std::size_t>(frames), 0.f);
  const std::int64_t keep = std::min(frames, audio.frames);
  for (int c = 0; c < audio.channels; ++c)
    std::copy(audio.channel(c), audio.channel(c) + keep, out.begin() + static_cast<std::ptrdiff_t>(c) * frames);
  audio.samples = std::move(out);
  audio.frames = frames;
}

}  // namespace unmix::eval
