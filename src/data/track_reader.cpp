// The variable-sources track-folder reader: stems -> target sum, interferer sum, mix, all aligned.
#include <algorithm>
#include <cmath>
#include <optional>
#include <tuple>

#include "unmix/data/dataset.h"
#include "unmix/error.h"
#include "unmix/limits.h"

namespace unmix::data {
namespace fs = std::filesystem;

std::string_view issue_kind_name(IssueKind kind) {
  switch (kind) {
    case IssueKind::Missing: return "missing";
    case IssueKind::Unreadable: return "unreadable";
    case IssueKind::NoTargets: return "no readable target stem";
    case IssueKind::Length: return "length differs from the mix";
    case IssueKind::SampleRate: return "sample rate differs";
    case IssueKind::Channels: return "channel count differs";
    case IssueKind::NonFinite: return "NaN or infinite samples (the track is left out)";
  }
  return "?";
}

std::string FileIssue::to_string() const {
  std::string s = file.string() + ": " + std::string(issue_kind_name(kind));
  if (!detail.empty()) s += ": " + detail;
  return s;
}

bool TrackAudio::usable() const {
  // A NaN in any file would poison the sums, the mix and the statistics computed from them.
  return std::none_of(issues.begin(), issues.end(),
                      [](const FileIssue& i) { return i.kind == IssueKind::NoTargets || i.kind == IssueKind::NonFinite; });
}

namespace {

// Frames after resampling, exactly as unmix::resample computes them (round half up).
std::int64_t frames_at_rate(std::int64_t frames, int from, int to) {
  if (from == to) return frames;
  return (frames * to * 2 + from) / (2 * static_cast<std::int64_t>(from));
}

Audio silence(int rate, int channels, std::int64_t frames) {
  Audio a;
  a.sample_rate = rate;
  a.channels = channels;
  a.frames = frames;
  a.samples.assign(static_cast<std::size_t>(channels) * static_cast<std::size_t>(frames), 0.f);
  return a;
}

class TrackLoad {
 public:
  TrackLoad(const fs::path& root, const ReadOptions& options, std::vector<FileIssue>& issues)
      : root_(root), options_(options), issues_(issues) {}

  void report(IssueKind kind, const fs::path& file, std::string detail) {
    FileIssue issue{kind, file, std::move(detail)};
    if (options_.strict && issue.fatal()) fail(file, std::string(issue_kind_name(kind)) + (issue.detail.empty() ? "" : ": " + issue.detail));
    issues_.push_back(std::move(issue));
  }

  // The file at the requested rate and channel count, or nothing (reported) when it cannot be read.
  std::optional<Audio> load(const std::string& relative) {
    const fs::path file = root_ / relative;
    std::error_code ec;
    if (!fs::exists(file, ec)) {
      report(ec ? IssueKind::Unreadable : IssueKind::Missing, file, ec ? ec.message() : "");
      return std::nullopt;
    }
    Audio audio;
    try {
      audio = read_audio(file);
    } catch (const Error& e) {
      report(IssueKind::Unreadable, file, e.what());
      return std::nullopt;
    }
    const auto bad = std::find_if(audio.samples.begin(), audio.samples.end(), [](float x) { return !std::isfinite(x); });
    if (bad != audio.samples.end()) {
      const auto index = static_cast<std::int64_t>(bad - audio.samples.begin());
      report(IssueKind::NonFinite, file,
             "first at frame " + std::to_string(index % std::max<std::int64_t>(1, audio.frames)) + " of channel " +
                 std::to_string(index / std::max<std::int64_t>(1, audio.frames)));
      return audio;  // kept for the length, but the track is unusable
    }
    if (audio.channels != options_.channels) {
      report(IssueKind::Channels, file,
             std::to_string(audio.channels) + " channels, converted to " + std::to_string(options_.channels));
      audio = to_channels(audio, options_.channels);
    }
    if (audio.sample_rate != options_.sample_rate) {
      report(IssueKind::SampleRate, file,
             std::to_string(audio.sample_rate) + " Hz, resampled to " + std::to_string(options_.sample_rate));
      try {
        audio = resample(audio, options_.sample_rate, options_.quality);
      } catch (const Error& e) {  // e.g. a header rate of 1 Hz, beyond libsamplerate's ratio range
        report(IssueKind::Unreadable, file, e.what());
        return std::nullopt;
      }
    }
    return audio;
  }

  // Adds `audio` into `sum` over sum.frames, reporting a length that differs (the surplus is dropped, a
  // shortfall stays silent).
  void accumulate(Audio& sum, const Audio& audio, const std::string& relative) {
    if (audio.frames != sum.frames)
      report(IssueKind::Length, root_ / relative,
             std::to_string(audio.frames) + " frames against " + std::to_string(sum.frames) +
                 (audio.frames < sum.frames ? ", zero-padded" : ", trimmed"));
    const std::int64_t n = std::min(audio.frames, sum.frames);
    for (int c = 0; c < sum.channels; ++c) {
      float* dst = sum.channel(c);
      const float* src = audio.channel(c);
      for (std::int64_t i = 0; i < n; ++i) dst[i] += src[i];
    }
  }

 private:
  const fs::path& root_;
  const ReadOptions& options_;
  std::vector<FileIssue>& issues_;
};

}  // namespace

TrackReader::TrackReader(fs::path root, ReadOptions options) : root_(std::move(root)), options_(options) {
  if (options_.channels != 1 && options_.channels != 2) fail("reader", "channels must be 1 or 2");
  if (options_.sample_rate <= 0) fail("reader", "sample rate must be positive");
  if (options_.sample_rate > kMaxSampleRate) fail("reader", "sample rate " + std::to_string(options_.sample_rate) + " is too high");
}

TrackAudio TrackReader::read(const ManifestTrack& track) const {
  TrackAudio out;
  out.id = track.id;
  TrackLoad load(root_, options_, out.issues);

  // The mix fixes the length; without it the longest stem does.
  std::optional<Audio> mix;
  std::int64_t length = -1;
  if (options_.read_mix) {
    mix = load.load(track.mix);
    if (mix) length = mix->frames;
  } else {
    const fs::path file = root_ / track.mix;
    std::error_code ec;
    if (!fs::exists(file, ec)) {
      load.report(ec ? IssueKind::Unreadable : IssueKind::Missing, file, ec ? ec.message() : "");
    } else {
      try {
        const AudioInfo info = probe_audio(file);
        if (info.frames >= 0) length = frames_at_rate(info.frames, info.sample_rate, options_.sample_rate);
      } catch (const Error& e) {
        load.report(IssueKind::Unreadable, file, e.what());
      }
    }
  }

  // Stems are summed as soon as they are read, so memory holds the sums and one stem, not every stem;
  // only without a mix length do they wait until the longest is known.
  auto allocate_sums = [&] {
    out.target = silence(options_.sample_rate, options_.channels, length);
    out.interferers = silence(options_.sample_rate, options_.channels, length);
  };
  if (length >= 0) allocate_sums();
  std::vector<std::tuple<const ManifestStem*, Audio, bool>> pending;  // (stem, audio, is target)
  std::size_t readable_targets = 0;
  for (const auto* list : {&track.targets, &track.interferers})
    for (const auto& stem : *list) {
      const bool is_target = list == &track.targets;
      auto audio = load.load(stem.path);
      if (!audio) continue;
      readable_targets += is_target ? 1 : 0;
      if (length >= 0)
        load.accumulate(is_target ? out.target : out.interferers, *audio, stem.path);
      else
        pending.emplace_back(&stem, std::move(*audio), is_target);
    }
  if (length < 0) {
    length = 0;
    for (const auto& [stem, audio, is_target] : pending) length = std::max(length, audio.frames);
    allocate_sums();
    for (const auto& [stem, audio, is_target] : pending)
      load.accumulate(is_target ? out.target : out.interferers, audio, stem->path);
  }
  if (readable_targets == 0)
    load.report(IssueKind::NoTargets, root_ / track.id,
                std::to_string(track.targets.size()) + " target stem(s) listed, none readable");

  if (mix) {
    out.mix = std::move(*mix);
    out.mix_from_file = true;
  } else if (options_.read_mix) {
    out.mix = out.target;
    for (std::size_t i = 0; i < out.mix.samples.size(); ++i) out.mix.samples[i] += out.interferers.samples[i];
  }
  return out;
}

std::vector<FileIssue> TrackReader::validate(const ManifestTrack& track) const {
  std::vector<FileIssue> issues;
  struct Probe {
    std::string path;
    std::optional<AudioInfo> info;
  };
  auto probe = [&](const std::string& relative) {
    Probe p{relative, std::nullopt};
    const fs::path file = root_ / relative;
    std::error_code ec;
    if (!fs::exists(file, ec)) {
      issues.push_back({ec ? IssueKind::Unreadable : IssueKind::Missing, file, ec ? ec.message() : ""});
      return p;
    }
    try {
      p.info = probe_audio(file);
    } catch (const Error& e) {
      issues.push_back({IssueKind::Unreadable, file, e.what()});
      return p;
    }
    if (p.info->channels != options_.channels)
      issues.push_back({IssueKind::Channels, file, std::to_string(p.info->channels) + " channels"});
    if (p.info->sample_rate != options_.sample_rate)
      issues.push_back({IssueKind::SampleRate, file, std::to_string(p.info->sample_rate) + " Hz"});
    return p;
  };
  const Probe mix = probe(track.mix);
  auto length_of = [&](const Probe& p) -> std::int64_t {
    if (!p.info || p.info->frames < 0) return -1;
    return frames_at_rate(p.info->frames, p.info->sample_rate, options_.sample_rate);
  };
  const std::int64_t reference = length_of(mix);
  std::size_t readable_targets = 0;
  for (const auto* list : {&track.targets, &track.interferers})
    for (const auto& stem : *list) {
      const Probe p = probe(stem.path);
      if (p.info && list == &track.targets) ++readable_targets;
      const std::int64_t n = length_of(p);
      if (reference >= 0 && n >= 0 && n != reference)
        issues.push_back({IssueKind::Length, root_ / stem.path,
                          std::to_string(n) + " frames against the mix's " + std::to_string(reference)});
    }
  if (readable_targets == 0)
    issues.push_back({IssueKind::NoTargets, root_ / track.id,
                      std::to_string(track.targets.size()) + " target stem(s) listed, none readable"});
  return issues;
}

}  // namespace unmix::data
