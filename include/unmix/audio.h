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

// Reads WAV, FLAC, OGG/Vorbis, Opus and MP3 (whatever the installed libsndfile decodes). Integer
// samples map to [-1, 1) (divided by 2^(bits-1)); float samples are returned unscaled.
// A missing, unreadable, non-audio, empty or truncated file throws unmix::Error "<path>: <problem>".
// Truncation is detected where the header states the length (WAV, FLAC that declares its sample
// count, ...); MP3, Ogg and length-less streams are decoded to their end and `frames` is what decoded.
// start_seconds/duration_seconds select a window (duration < 0: to the end), both rounded to the
// nearest frame; a start at or past the end, or a window of 0 frames, is an error, and a duration
// running past the end is cut at the end.
Audio read_audio(const std::filesystem::path& path, double start_seconds = 0.0, double duration_seconds = -1.0);

// Header facts without decoding the samples (a truncated WAV is still reported as an error).
struct AudioInfo {
  int sample_rate = 0;
  int channels = 0;
  std::int64_t frames = 0;  // as the header states (an estimate for MP3); -1 when unknown (streamed
                            // FLAC, Ogg without an end marker)
  std::string format;  // e.g. "WAV (Microsoft) / Signed 16 bit PCM"
};
AudioInfo probe_audio(const std::filesystem::path& path);

enum class SampleFormat { Pcm16, Pcm24, Float32 };
// Container from the extension (case-insensitive): .wav or .flac (FLAC takes 16 or 24 bit only);
// anything else is an error. Written through a temporary file and renamed, so a failed write leaves
// nothing behind. Integer formats scale by 2^(bits-1) and clip to the integer range (so 1.0 becomes
// the largest code, one step below 1). Empty audio (0 frames) and non-finite samples are errors.
void write_audio(const std::filesystem::path& path, const Audio& audio, SampleFormat format = SampleFormat::Pcm16);

// libsamplerate (Best/Medium/Fastest = SRC_SINC_BEST_QUALITY/_MEDIUM_/SRC_SINC_FASTEST), each channel
// separately; returns a copy when the rates match. The output has exactly
// round(frames * target_rate / sample_rate) frames (halves round up), time-aligned with the input.
enum class ResampleQuality { Best, Medium, Fastest };
Audio resample(const Audio& audio, int target_rate, ResampleQuality quality = ResampleQuality::Best);

// Channel policy for a model with `channels` (1 or 2, else an error) inputs: same count -> a copy;
// mono into stereo -> duplicated; stereo into mono -> mean of the two; more than two channels -> only
// the first two are used (kept for stereo, averaged for mono).
Audio to_channels(const Audio& audio, int channels);

}  // namespace unmix
