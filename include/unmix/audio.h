#pragma once
// Audio files in and out (libsndfile) and sample-rate conversion (libsamplerate).
// Audio is planar float32: channel c occupies samples[c * frames, (c + 1) * frames).
#include <cstdint>
#include <filesystem>
#include <memory>
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

// Reads a file forward in blocks, so memory does not grow with its length: the same decoding, window
// and checks as read_audio (which is built on it). At most `max_channels` (the first ones) are returned.
class AudioReader {
 public:
  AudioReader(const std::filesystem::path& path, double start_seconds = 0.0, double duration_seconds = -1.0,
              int max_channels = 0);
  ~AudioReader();
  AudioReader(AudioReader&&) noexcept;
  AudioReader& operator=(AudioReader&&) noexcept;
  int sample_rate() const;
  int channels() const;  // after the max_channels cut
  int file_channels() const;
  // Frames of the window when the header states them exactly (WAV, FLAC with a sample count, ...);
  // -1 for MP3, Ogg and length-less streams, where only decoding to the end tells.
  std::int64_t exact_frames() const;
  std::int64_t frames_hint() const;  // the header's count in the window (an estimate for MP3); -1 unknown
  // Up to `max_frames` next frames into `planar` (channel c at planar + c * stride, stride >= max_frames);
  // returns how many, 0 at the end of the window. A decoding error, a truncated file (where the header
  // states the length) or an empty window throws unmix::Error naming the file.
  std::int64_t read(float* planar, std::int64_t max_frames, std::int64_t stride);
  std::int64_t frames_read() const;
  const std::filesystem::path& path() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Frames in a file's window: the header's count where it is exact, else by decoding it once.
std::int64_t count_frames(const std::filesystem::path& path, double start_seconds = 0.0, double duration_seconds = -1.0);

// Title, artist, ... (libsndfile's SF_STR_* strings) as far as the container carries them.
struct AudioTags {
  std::string title, artist, album, date, genre, comment, tracknumber;
  bool empty() const;
};
AudioTags read_tags(const std::filesystem::path& path);  // empty where the file has none

enum class SampleFormat { Pcm16, Pcm24, Float32 };

// Output container and encoding. wav: Pcm16/Pcm24/Float32; flac: Pcm16/Pcm24; mp3 (MPEG layer III),
// opus and ogg (Vorbis) are lossy: `format` is ignored, `quality` in [0, 1] (libsndfile's
// SFC_SET_COMPRESSION_LEVEL: 0 = best quality / highest bitrate) sets the encoder, `variable` chooses VBR
// or CBR for mp3 (libsndfile's Opus encoder has no mode). `kbps` instead of `quality` asks mp3 and opus for a
// bitrate: see encoder_bitrate.
struct WriteOptions {
  SampleFormat format = SampleFormat::Pcm16;
  double quality = -1;      // < 0: the encoder's default; flac: compression effort
  bool variable = true;     // mp3: VBR (SF_BITRATE_MODE_VARIABLE) or CBR (SF_BITRATE_MODE_CONSTANT)
  int kbps = 0;             // mp3 / opus: bitrate of the whole stream in kbit/s (> 0 with quality < 0); 0: none
  AudioTags tags;           // written where the container has the fields
};

// The bitrates (kbit/s) an MP3 frame can have at this sample rate, as LAME writes them in CBR: MPEG-1
// (32, 44.1, 48 kHz) 32 ... 320, MPEG-2 (16, 22.05, 24 kHz) 8 ... 160, MPEG-2.5 (8, 11.025, 12 kHz) 8 ... 64.
std::vector<int> mp3_bitrates(int sample_rate);

// What AudioWriter asks the encoder for when WriteOptions::kbps is `kbps`. libsndfile 1.2 takes one knob,
// SFC_SET_COMPRESSION_LEVEL, and maps it onto a bitrate (mpeg_l3_encode.c, ogg_opus.c); the level chosen is
// the exact inverse of that map. mp3 CBR: the nearest of mp3_bitrates (a tie goes to the lower, as in LAME);
// mp3 average bitrate (`variable`): any whole kbit/s in the MPEG version's range; opus (its own VBR, no mode):
// whole bit/s per channel from 6 to 256 kbit/s per channel. Outside those, the nearest end. `note` says what
// changed ("" when the encoder gets `kbps`); ogg (Vorbis), wav and flac have no bitrate: an error.
struct EncoderBitrate {
  int kbps = 0;          // whole stream
  double level = 0;      // SFC_SET_COMPRESSION_LEVEL
  std::string note;
};
EncoderBitrate encoder_bitrate(const std::string& ext, int kbps, bool variable, int sample_rate, int channels);

// Container from the extension (case-insensitive): .wav, .flac, .mp3, .opus, .ogg. Written through a
// temporary file in the target's folder that commit() renames into place; destroyed without commit(),
// the temporary file is removed. Samples are checked for being finite as they are written.
class AudioWriter {
 public:
  // `expected_frames` (when >= 0) lets a WAV that would pass the 4 GiB limit fail before writing.
  AudioWriter(const std::filesystem::path& path, int sample_rate, int channels, const WriteOptions& options,
              std::int64_t expected_frames = -1);
  ~AudioWriter();
  AudioWriter(AudioWriter&&) noexcept;
  AudioWriter& operator=(AudioWriter&&) noexcept;
  // `frames` frames from planar (channel c at planar + c * stride).
  void write(const float* planar, std::int64_t frames, std::int64_t stride);
  std::int64_t frames_written() const;
  // A song's outputs are one result: close() every writer (encoders flushed, data on disk: a full disk
  // shows here), then commit() each, so a failure never leaves a new guitar.wav beside an old residual.wav.
  void close();   // finishes the encoder and syncs the temporary file; an error names the file
  void commit();  // close() if not yet, then renames into place
  const std::filesystem::path& path() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The value a sample takes in an integer format (the writer's rounding and clipping; Float32: itself).
float quantize(float x, SampleFormat format);
bool lossy_extension(const std::string& ext);  // mp3, opus, ogg (with or without the dot)
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

// The same conversion, fed block by block: `push` takes input frames and appends what the converter
// gives to `output()` (planar, channel c at output().data() + c * output_stride()); `finish` feeds silence
// until the total reaches round(total_input * to / from), as resample() does; `consume(n)` drops the first
// n frames of the output. Gives resample()'s samples whatever the block sizes.
class StreamResampler {
 public:
  StreamResampler(int channels, int from_rate, int to_rate, ResampleQuality quality = ResampleQuality::Best);
  ~StreamResampler();
  StreamResampler(StreamResampler&&) noexcept;
  StreamResampler& operator=(StreamResampler&&) noexcept;
  void push(const float* planar, std::int64_t frames, std::int64_t stride);
  // Silence until `total_output` frames were produced in all (the surplus is not produced).
  void finish(std::int64_t total_output);
  std::int64_t available() const;
  const float* output(int channel) const;
  void consume(std::int64_t frames);
  std::int64_t produced() const;  // frames produced so far, consumed or not

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Channel policy for a model with `channels` (1 or 2, else an error) inputs: same count -> a copy;
// mono into stereo -> duplicated; stereo into mono -> mean of the two; more than two channels -> only
// the first two are used (kept for stereo, averaged for mono).
Audio to_channels(const Audio& audio, int channels);

}  // namespace unmix
