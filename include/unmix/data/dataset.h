#pragma once
// The variable-sources track-folder dataset: a MedleyDB-layout root plus a manifest give, per track,
//   target      = sum of the target stems,
//   interferers = sum of every other stem (any number of them),
//   mix         = the track's mix file (or target + interferers when it is missing).
// Every file is brought to one format first: channels by unmix::to_channels (mono duplicated, extra
// channels dropped), sample rate by unmix::resample, and length to the mix's length (zero-padded at the
// end or trimmed). A missing or unreadable file is reported (FileIssue) and counts as silence; with
// `strict` it throws unmix::Error naming the file instead.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "unmix/audio.h"
#include "unmix/data/manifest.h"

namespace unmix::data {

enum class IssueKind {
  Missing,     // the file does not exist                           (fatal with strict)
  Unreadable,  // it exists but does not decode                     (fatal with strict)
  NoTargets,   // none of the track's target stems could be read    (the track is unusable)
  Length,      // its length differs from the mix (padded or trimmed)
  SampleRate,  // its rate differs from the requested one (resampled)
  Channels,    // its channel count differs (mono duplicated, extra channels dropped)
  NonFinite,   // it decodes to NaN or infinite samples             (the track is unusable)
};
std::string_view issue_kind_name(IssueKind kind);  // "missing", "unreadable", ...

struct FileIssue {
  IssueKind kind = IssueKind::Missing;
  std::filesystem::path file;
  std::string detail;
  bool fatal() const {
    return kind == IssueKind::Missing || kind == IssueKind::Unreadable || kind == IssueKind::NoTargets ||
           kind == IssueKind::NonFinite;
  }
  std::string to_string() const;  // "<file>: <kind>: <detail>"
};

struct ReadOptions {
  int sample_rate = 44100;
  int channels = 2;
  bool strict = false;     // missing/unreadable files throw instead of being reported
  bool read_mix = true;    // false: the mix file is only probed for its length, `mix` stays empty
  ResampleQuality quality = ResampleQuality::Best;
};

struct TrackAudio {
  std::string id;
  Audio target, interferers;  // same rate, channels and length
  Audio mix;                  // the mix file, aligned the same way (empty unless read_mix)
  bool mix_from_file = false; // false: the mix file was missing or unreadable and `mix` is target + interferers
  std::vector<FileIssue> issues;
  bool usable() const;        // false when a NoTargets or NonFinite issue was raised
};

class TrackReader {
 public:
  TrackReader(std::filesystem::path root, ReadOptions options);
  const std::filesystem::path& root() const { return root_; }
  const ReadOptions& options() const { return options_; }

  // Decodes, aligns and sums one track. The reference length is the mix's length at the requested rate
  // (round(frames * rate / file_rate)); without a readable mix it is the longest stem's.
  TrackAudio read(const ManifestTrack& track) const;

  // Header-only check of one track (nothing decoded): missing/unreadable files and odd rates, channel
  // counts and lengths, in the order the manifest lists the files. Never throws for bad files.
  std::vector<FileIssue> validate(const ManifestTrack& track) const;

 private:
  std::filesystem::path root_;
  ReadOptions options_;
};

}  // namespace unmix::data
