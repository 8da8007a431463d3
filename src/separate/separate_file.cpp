// One audio file through the separator: decode, resample to the model rate, separate, resample back, write.
#include <algorithm>
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

}  // namespace

FileResult separate_file(Separator& separator, const std::filesystem::path& input, const OutputOptions& options,
                         const ProgressFn& progress) {
  validate(options);
  Audio audio = read_audio(input, options.start_seconds, options.duration_seconds);
  if (audio.channels > 2) audio = to_channels(audio, 2);  // the first two channels
  const int input_rate = audio.sample_rate;
  const std::int64_t input_frames = audio.frames;
  FileResult result;
  result.seconds = audio.seconds();

  if (audio.sample_rate != separator.sample_rate()) audio = resample(audio, separator.sample_rate());
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
  const auto& names = separator.source_names();
  for (std::size_t j = 0; j < sources.size(); ++j) {
    Audio out = to_input_rate(std::move(sources[j]), input_rate, input_frames);
    sources[j] = Audio{};
    const std::filesystem::path path = dir / (names[j] + "." + options.ext);
    write_audio(path, out, options.format);
    result.written.push_back(path);
  }
  return result;
}

}  // namespace unmix
