#pragma once
// Audio files in and out (libsndfile) and sample-rate conversion (libsamplerate).
// Audio is planar float32: channel c occupies samples[c * frames, (c + 1) * frames).
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace unmix {

struct Audio {
  int sample_rate = 0;
  int channels = 0;
  std::int64_t frames = 0;  // samples per channel
  std::vector<float> samples;

  float* channel(int c) { return samples.data() + static_cast<std::size_t>(c) * static_cast<std::size_t>(frames); }
  const float* channel(int c) const {
    return samples.data() + static_cast<std::size_t>(c) * static_cast<std::size_t>(frames);
  }
  double seconds() const { return sample_rate > 0 ? static_cast<double>(frames) / sample_rate : 0.0; }
};

// Reads WAV, FLAC, OGG/Vorbis, Opus and MP3 (whatever the installed libsndfile decodes).
// An unreadable, empty or truncated file throws unmix::Error "<path>: <problem>".
// start_seconds/duration_seconds select a window (duration < 0: to the end).
Audio read_audio(const std::filesystem::path& path, double start_seconds = 0.0, double duration_seconds = -1.0);

// Header facts without decoding the samples.
struct AudioInfo {
  int sample_rate = 0;
  int channels = 0;
  std::int64_t frames = 0;
  std::string format;  // e.g. "WAV (Microsoft) / Signed 16 bit PCM"
};
AudioInfo probe_audio(const std::filesystem::path& path);

enum class SampleFormat { Pcm16, Pcm24, Float32 };
// Container from the extension: .wav or .flac (FLAC takes 16 or 24 bit only). Written through a
// temporary file and renamed, so a failed write leaves nothing behind. Samples are clipped to [-1, 1]
// for integer formats.
void write_audio(const std::filesystem::path& path, const Audio& audio, SampleFormat format = SampleFormat::Pcm16);

// libsamplerate, SRC_SINC_BEST_QUALITY by default; returns the input unchanged when the rates match.
enum class ResampleQuality { Best, Medium, Fastest };
Audio resample(const Audio& audio, int target_rate, ResampleQuality quality = ResampleQuality::Best);

// Channel policy for a model with `channels` inputs: mono in -> duplicated to stereo; stereo into a mono
// model -> mean of the two; more than two channels -> the first two (a warning-free, stated rule).
Audio to_channels(const Audio& audio, int channels);

}  // namespace unmix
