// One audio file through the separator: decode, resample to the model rate, separate, resample back, write.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <system_error>

#include "unmix/separator.h"

namespace unmix {

void validate(const OutputOptions& options) {
  if (options.ext != "wav" && options.ext != "flac")
    fail("--ext", "unknown output format '" + options.ext + "' (expected wav or flac)");
  if (options.ext == "flac" && options.format == SampleFormat::Float32)
    fail("--bits", "FLAC stores 16 or 24 bit samples; use --bits 16 or 24, or --ext wav for 32-bit float");
  if (options.start_seconds < 0) fail("--start", "must be >= 0 seconds");
  if (options.outdir.empty()) fail("--outdir", "must not be empty");
}

namespace {

// Resamples back to the input rate and fixes the length to the input's (rounding in the two conversions
// can leave it one frame off).
Audio to_input_rate(Audio audio, int rate, std::int64_t frames) {
  if (audio.sample_rate == rate && audio.frames == frames) return audio;
  Audio out = audio.sample_rate == rate ? std::move(audio) : resample(audio, rate);
  if (out.frames == frames) return out;
  Audio fixed;
  fixed.sample_rate = rate;
  fixed.channels = out.channels;
  fixed.frames = frames;
  fixed.samples.assign(static_cast<std::size_t>(out.channels) * static_cast<std::size_t>(frames), 0.f);
  const std::int64_t n = std::min(frames, out.frames);
  for (int c = 0; c < out.channels; ++c) std::copy_n(out.channel(c), n, fixed.channel(c));
  return fixed;
}

// A song's sources are one result: each is written under a temporary name, and only when all are complete
// are they renamed into place, so a failure (a full disk) never leaves a new guitar.wav beside an old
// residual.wav. Temporary files of a killed run are swept first.
void commit_as_set(const std::filesystem::path& dir, const std::vector<std::string>& names, const OutputOptions& options,
                   const std::function<void(std::size_t, const std::filesystem::path&)>& write) {
  remove_stale_temp_files(dir);
  std::vector<std::filesystem::path> staged;
  struct RemoveStaged {
    std::vector<std::filesystem::path>& files;
    ~RemoveStaged() {
      std::error_code ec;
      for (const auto& f : files) std::filesystem::remove(f, ec);
    }
  } cleanup{staged};
  for (std::size_t j = 0; j < names.size(); ++j) {
    const std::string file = names[j] + "." + options.ext;
    staged.push_back(dir / ("." + file + ".tmp." + std::to_string(::getpid()) + ".set." + options.ext));
    write(j, staged.back());
  }
  for (std::size_t j = 0; j < names.size(); ++j) {
    std::error_code ec;
    const std::filesystem::path target = dir / (names[j] + "." + options.ext);
    std::filesystem::rename(staged[j], target, ec);
    if (ec) fail(target, "cannot rename the finished output into place: " + ec.message());
  }
  staged.clear();
  sync_folder(dir);
}

}  // namespace

FileResult separate_file(Separator& separator, const std::filesystem::path& input, const OutputOptions& options,
                         const ProgressFn& progress) {
  validate(options);
  Audio audio = read_audio(input, options.start_seconds, options.duration_seconds);
  // A NaN sample would spread through the STFT and the Wiener filter into every output.
  if (const auto bad = std::find_if(audio.samples.begin(), audio.samples.end(), [](float x) { return !std::isfinite(x); });
      bad != audio.samples.end())
    fail(input, "holds a NaN or infinite sample (channel " + std::to_string((bad - audio.samples.begin()) / audio.frames) +
                    ", frame " + std::to_string((bad - audio.samples.begin()) % audio.frames) + "); nothing was written");
  if (audio.channels > 2) audio = to_channels(audio, 2);  // the first two channels
  const int input_rate = audio.sample_rate;
  const std::int64_t input_frames = audio.frames;
  FileResult result;
  result.seconds = audio.seconds();

  try {
    if (audio.sample_rate != separator.sample_rate()) audio = resample(audio, separator.sample_rate());
  } catch (const Error& e) {  // e.g. a header rate of 1 Hz, beyond libsamplerate's ratio range
    fail(input, e.what());
  }
  std::vector<Audio> sources;
  try {
    sources = separator.separate(audio, progress);
  } catch (const Cancelled&) {
    throw;
  } catch (const Error& e) {
    fail(input, e.what());
  }
  audio = Audio{};  // release the mix before the sources are resampled

  const std::filesystem::path dir = options.outdir / input.stem();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) fail(dir, "cannot create the output folder: " + ec.message());
  commit_as_set(dir, separator.source_names(), options, [&](std::size_t j, const std::filesystem::path& path) {
    Audio out = to_input_rate(std::move(sources[j]), input_rate, input_frames);
    sources[j] = Audio{};
    write_audio(path, out, options.format);
  });
  for (const auto& name : separator.source_names()) result.written.push_back(dir / (name + "." + options.ext));
  return result;
}

}  // namespace unmix
