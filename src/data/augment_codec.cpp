// The lossy-codec round trip of the input augmentations: libsndfile's own encoders and decoders (LAME and
// mpg123 for MP3, libvorbis, libopus) on an in-memory file through its virtual I/O, no temporary files.
#include <sndfile.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#include "polyphase.h"
#include "unmix/data/augment.h"
#include "unmix/error.h"

namespace unmix::data {

namespace {

// A growable byte buffer that libsndfile reads and writes like a seekable file (the MP3 writer seeks back
// to fill in LAME's info header, which is what lets the decoder drop the encoder delay and padding).
struct MemoryFile {
  std::vector<unsigned char> bytes;
  sf_count_t position = 0;

  static MemoryFile& of(void* user) { return *static_cast<MemoryFile*>(user); }
  static sf_count_t length(void* user) { return static_cast<sf_count_t>(of(user).bytes.size()); }
  static sf_count_t seek(sf_count_t offset, int whence, void* user) {
    MemoryFile& f = of(user);
    const sf_count_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? f.position : length(user);
    if (base + offset < 0) return -1;
    f.position = base + offset;
    return f.position;
  }
  static sf_count_t read(void* to, sf_count_t count, void* user) {
    MemoryFile& f = of(user);
    const sf_count_t n = std::clamp<sf_count_t>(length(user) - f.position, 0, count);
    if (n > 0) std::memcpy(to, f.bytes.data() + f.position, static_cast<std::size_t>(n));
    f.position += n;
    return n;
  }
  static sf_count_t write(const void* from, sf_count_t count, void* user) {
    MemoryFile& f = of(user);
    if (f.position + count > length(user)) f.bytes.resize(static_cast<std::size_t>(f.position + count));
    std::memcpy(f.bytes.data() + f.position, from, static_cast<std::size_t>(count));
    f.position += count;
    return count;
  }
  static sf_count_t tell(void* user) { return of(user).position; }
};

struct SndfileCloser {
  void operator()(SNDFILE* f) const { sf_close(f); }
};

// Setting a handle up draws from libsndfile's unlocked random generator (psf_rand_int32: each handle's id and,
// at the first write, the Ogg stream serial number) and initializes LAME and mpg123, so workers set up one at
// a time; the costly encoding and decoding run in parallel.
std::mutex& setup_mutex() {
  static std::mutex mutex;
  return mutex;
}

constexpr std::array<int, 5> kOpusRates = {8000, 12000, 16000, 24000, 48000};
constexpr std::array<int, 9> kMp3Rates = {8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000};
// Nominal bitrates of 44.1 kHz stereo, from the encoders' documentation: libvorbis at quality 0, 1, ..., 10;
// LAME at -V 9, 8, ..., 0.
constexpr std::array<double, 11> kVorbisKbps = {64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 500};
constexpr std::array<double, 10> kLameVbrKbps = {65, 85, 100, 115, 130, 165, 175, 190, 225, 245};

// Where `kbps` falls in an increasing table of nominal bitrates, as a fractional index clamped to its ends.
template <std::size_t N>
double table_position(const std::array<double, N>& table, int kbps) {
  if (kbps <= table.front()) return 0;
  for (std::size_t i = 1; i < N; ++i)
    if (kbps <= table[i]) return static_cast<double>(i - 1) + (kbps - table[i - 1]) / (table[i] - table[i - 1]);
  return static_cast<double>(N - 1);
}

bool is_opus_rate(int rate) { return std::find(kOpusRates.begin(), kOpusRates.end(), rate) != kOpusRates.end(); }

int format_of(Codec codec) {
  switch (codec) {
    case Codec::Mp3: return SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III;
    case Codec::Vorbis: return SF_FORMAT_OGG | SF_FORMAT_VORBIS;
    case Codec::Opus: return SF_FORMAT_OGG | SF_FORMAT_OPUS;
    case Codec::None: break;
  }
  return 0;
}

// libsndfile's one knob, SFC_SET_COMPRESSION_LEVEL (0 = best quality ... 1 = smallest), from kbps the way each
// encoder reads it (libsndfile 1.2: mpeg_l3_encode.c, ogg_vorbis.c, ogg_opus.c).
double compression_level(Codec codec, int kbps, int channels) {
  switch (codec) {
    case Codec::Mp3:
      // LAME's VBR at -V 10 x level, V interpolated from its nominal bitrates: faster than its CBR by about
      // 40 %, what most MP3s in the wild are, and its info header (which lets the decoder drop the encoder
      // delay) fits at every bitrate, where a CBR frame under ~64 kbps is too small to hold it.
      return (9.0 - table_position(kLameVbrKbps, kbps)) / 10.0;
    case Codec::Vorbis:
      // VBR quality q / 10 at level 1 - q / 10, q interpolated from the nominal bitrates.
      return 1.0 - table_position(kVorbisKbps, kbps) / 10.0;
    case Codec::Opus: {
      // Bitrate per channel = (1 - level) * 250 kbps + 6 kbps.
      const double per_channel = 1000.0 * kbps / channels;
      return std::clamp(1.0 - (per_channel - 6000.0) / 250000.0, 0.0, 1.0);
    }
    case Codec::None: break;
  }
  return 0;
}

// Encodes interleaved audio into memory and decodes it back into the same buffer; the decoded length must be
// the input's (the decoders remove encoder delay and padding), anything else would shift the mix against the
// target, so it is an error rather than a silent pad.
void encode_decode(std::vector<float>& interleaved, int channels, std::int64_t frames, int rate, Codec codec,
                   int kbps) {
  const std::string where = std::string(codec_name(codec)) + " round trip";
  SF_VIRTUAL_IO io{&MemoryFile::length, &MemoryFile::seek, &MemoryFile::read, &MemoryFile::write, &MemoryFile::tell};
  MemoryFile file;
  {
    SF_INFO info{};
    info.samplerate = rate;
    info.channels = channels;
    info.format = format_of(codec);
    std::unique_lock setup(setup_mutex());
    std::unique_ptr<SNDFILE, SndfileCloser> out(sf_open_virtual(&io, SFM_WRITE, &info, &file));
    if (!out) fail(where, std::string("cannot open the encoder: ") + sf_strerror(nullptr));
    if (codec == Codec::Mp3) {
      // Returns false while no level is set yet; the level below is then read as a VBR quality.
      int mode = SF_BITRATE_MODE_VARIABLE;
      sf_command(out.get(), SFC_SET_BITRATE_MODE, &mode, sizeof(mode));
    }
    double level = compression_level(codec, kbps, channels);
    if (sf_command(out.get(), SFC_SET_COMPRESSION_LEVEL, &level, sizeof(level)) != SF_TRUE)
      fail(where, "the encoder refused " + std::to_string(kbps) + " kbps");
    // The first frame writes the headers and sets the encoder up; the encoders buffer their input, so the
    // split does not change the stream.
    if (sf_writef_float(out.get(), interleaved.data(), 1) != 1)
      fail(where, std::string("encoding failed: ") + sf_strerror(out.get()));
    setup.unlock();
    if (sf_writef_float(out.get(), interleaved.data() + channels, frames - 1) != frames - 1)
      fail(where, std::string("encoding failed: ") + sf_strerror(out.get()));
  }  // closing flushes the encoder and writes the headers
  file.position = 0;
  SF_INFO info{};
  std::unique_lock setup(setup_mutex());
  std::unique_ptr<SNDFILE, SndfileCloser> in(sf_open_virtual(&io, SFM_READ, &info, &file));
  setup.unlock();
  if (!in) fail(where, std::string("cannot decode what was encoded: ") + sf_strerror(nullptr));
  if (info.channels != channels || info.samplerate != rate)
    fail(where, "decoded " + std::to_string(info.channels) + " channels at " + std::to_string(info.samplerate) +
                    " Hz from " + std::to_string(channels) + " at " + std::to_string(rate));
  std::vector<float> decoded(interleaved.size() + static_cast<std::size_t>(channels));
  const sf_count_t got = sf_readf_float(in.get(), decoded.data(), frames + 1);
  if (got != frames)
    fail(where, "decoded " + std::to_string(got) + " frames from " + std::to_string(frames) + " (not time-aligned)");
  std::copy_n(decoded.begin(), interleaved.size(), interleaved.begin());
}

}  // namespace

std::string codec_problem(Codec codec, int sample_rate) {
  const std::string rate = std::to_string(sample_rate) + " Hz";
  switch (codec) {
    case Codec::None: return "no codec";
    case Codec::Mp3:
      if (std::find(kMp3Rates.begin(), kMp3Rates.end(), sample_rate) == kMp3Rates.end())
        return "mp3 has no " + rate + " mode (8000 .. 48000 Hz MPEG rates only)";
      return {};
    case Codec::Vorbis:
      if (sample_rate < 8000 || sample_rate > 192000) return "vorbis does not encode at " + rate;
      return {};
    case Codec::Opus:
      if (is_opus_rate(sample_rate)) return {};
      if (const std::string p = round_trip_problem(sample_rate, 48000); !p.empty()) return "opus runs at 48 kHz: " + p;
      return {};
  }
  return "unknown codec";
}

void codec_round_trip(float* planar, int channels, std::int64_t stride, std::int64_t frames, int sample_rate,
                      Codec codec, int kbps) {
  if (const std::string problem = codec_problem(codec, sample_rate); !problem.empty()) fail("codec", problem);
  if (frames <= 0) return;
  // Opus only encodes at its own rates: anything else goes to 48 kHz and back with the augmentations' filter.
  const int rate = codec == Codec::Opus && !is_opus_rate(sample_rate) ? 48000 : sample_rate;
  const std::int64_t coded_frames = resampled_frames(frames, sample_rate, rate);
  std::vector<float> planar_at_rate;
  const float* source = planar;
  std::int64_t source_stride = stride;
  if (rate != sample_rate) {
    planar_at_rate.resize(static_cast<std::size_t>(channels) * static_cast<std::size_t>(coded_frames));
    for (int c = 0; c < channels; ++c)
      polyphase_resample(planar + c * stride, frames, sample_rate, planar_at_rate.data() + c * coded_frames,
                         coded_frames, rate);
    source = planar_at_rate.data();
    source_stride = coded_frames;
  }
  // A file holds samples within +-1: a louder mix is scaled into range for the encoder and back afterwards.
  float peak = 0;
  for (int c = 0; c < channels; ++c)
    for (std::int64_t i = 0; i < coded_frames; ++i) peak = std::max(peak, std::abs(source[c * source_stride + i]));
  const float scale = peak > 1.f ? 1.f / peak : 1.f;
  std::vector<float> interleaved(static_cast<std::size_t>(channels) * static_cast<std::size_t>(coded_frames));
  for (int c = 0; c < channels; ++c)
    for (std::int64_t i = 0; i < coded_frames; ++i)
      interleaved[static_cast<std::size_t>(i * channels + c)] = scale * source[c * source_stride + i];
  encode_decode(interleaved, channels, coded_frames, rate, codec, kbps);
  const float unscale = 1.f / scale;
  if (rate == sample_rate) {
    for (int c = 0; c < channels; ++c)
      for (std::int64_t i = 0; i < frames; ++i)
        planar[c * stride + i] = unscale * interleaved[static_cast<std::size_t>(i * channels + c)];
    return;
  }
  std::vector<float> channel(static_cast<std::size_t>(coded_frames));
  for (int c = 0; c < channels; ++c) {
    for (std::int64_t i = 0; i < coded_frames; ++i)
      channel[static_cast<std::size_t>(i)] = unscale * interleaved[static_cast<std::size_t>(i * channels + c)];
    polyphase_resample(channel.data(), coded_frames, rate, planar + c * stride, frames, sample_rate);
  }
}

}  // namespace unmix::data
