// Audio file I/O (libsndfile) and resampling / channel policy (libsamplerate).
#include <gtest/gtest.h>
#include <sndfile.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <numbers>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "test_support.h"
#include "unmix/audio.h"
#include "unmix/error.h"

namespace fs = std::filesystem;
using unmix::Audio;
using unmix::SampleFormat;

namespace {

// A fresh directory from test_support, removed again when the test ends.
struct TempDir {
  fs::path path = unmix::test::temp_dir("audio");
  TempDir() = default;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  operator const fs::path&() const { return path; }
  fs::path operator/(const std::string& name) const { return path / name; }
  std::string string() const { return path.string(); }
};

// Streams the parts into one string (GCC 12 warns falsely on "literal" + std::to_string(...)).
template <typename... T>
std::string str(const T&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  return os.str();
}

Audio random_audio(int channels, std::int64_t frames, int rate, std::uint64_t seed, double amp = 0.99) {
  Audio a;
  a.sample_rate = rate;
  a.channels = channels;
  a.frames = frames;
  a.samples = unmix::test::random_vector<float>(static_cast<std::size_t>(channels * frames), seed, -amp, amp);
  return a;
}

// Channel c holds a sine of freq_hz * (c + 1), so swapped or mixed channels are caught.
Audio sine_audio(int channels, std::int64_t frames, int rate, double freq_hz, double amp = 0.5) {
  Audio a;
  a.sample_rate = rate;
  a.channels = channels;
  a.frames = frames;
  a.samples.resize(static_cast<std::size_t>(channels * frames));
  for (int c = 0; c < channels; ++c)
    for (std::int64_t i = 0; i < frames; ++i)
      a.channel(c)[i] = static_cast<float>(amp * std::sin(2 * std::numbers::pi * freq_hz * (c + 1) * static_cast<double>(i) / rate));
  return a;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) m = std::max(m, std::abs(double{a[i]} - double{b[i]}));
  return m;
}

// Normalised correlation of two equally long signals.
double correlation(const float* a, const float* b, std::size_t n) {
  double ab = 0, aa = 0, bb = 0;
  for (std::size_t i = 0; i < n; ++i) {
    ab += double{a[i]} * b[i];
    aa += double{a[i]} * a[i];
    bb += double{b[i]} * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

// Expects fn() to throw unmix::Error whose one-line message contains every string in `parts`.
void expect_error(const std::function<void()>& fn, const std::vector<std::string>& parts) {
  try {
    fn();
    ADD_FAILURE() << "no unmix::Error thrown (expected one mentioning '" << parts.front() << "')";
  } catch (const unmix::Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "message spans lines: " << msg;
    for (const auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' missing from: " << msg;
  }
}

void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary) << bytes;
}

// Writes interleaved-from-planar audio with libsndfile directly, for formats write_audio does not offer.
void write_with_sndfile(const fs::path& p, const Audio& a, int format) {
  SF_INFO info{};
  info.samplerate = a.sample_rate;
  info.channels = a.channels;
  info.format = format;
  SNDFILE* f = sf_open(p.c_str(), SFM_WRITE, &info);
  ASSERT_NE(f, nullptr) << sf_strerror(nullptr);
  std::vector<float> inter(a.samples.size());
  for (std::int64_t i = 0; i < a.frames; ++i)
    for (int c = 0; c < a.channels; ++c) inter[static_cast<std::size_t>(i * a.channels + c)] = a.channel(c)[i];
  EXPECT_EQ(sf_writef_float(f, inter.data(), a.frames), a.frames);
  EXPECT_EQ(sf_close(f), 0);
}

bool can_write(int format, int channels = 2) {
  SF_INFO info{};
  info.samplerate = 44100;
  info.channels = channels;
  info.format = format;
  return sf_format_check(&info) != 0;
}

std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path());
  return out;
}

void expect_same_shape(const Audio& got, const Audio& want) {
  EXPECT_EQ(got.sample_rate, want.sample_rate);
  EXPECT_EQ(got.channels, want.channels);
  EXPECT_EQ(got.frames, want.frames);
  EXPECT_EQ(got.samples.size(), want.samples.size());
}

}  // namespace

// ---------------------------------------------------------------- round trips

TEST(AudioIo, WavFloat32RoundTripIsBitExact) {
  const TempDir dir;
  for (int ch : {1, 2}) {
    Audio a = random_audio(ch, 12345, 44100, 1 + static_cast<unsigned>(ch));
    a.samples[7] = 1.75f;  // float WAV must neither clip nor rescale
    a.samples[8] = -3.5f;
    const auto p = dir / str("f", ch, ".wav");
    unmix::write_audio(p, a, SampleFormat::Float32);
    const Audio b = unmix::read_audio(p);
    expect_same_shape(b, a);
    EXPECT_EQ(b.samples, a.samples) << "channels=" << ch;
  }
}

// Integer PCM: write_audio stores round(x * 2^(bits-1)) and reading divides by 2^(bits-1), so the
// error is at most half a quantisation step, in WAV and FLAC alike.
struct PcmCase {
  const char* ext;
  SampleFormat format;
  double step;
};
class PcmRoundTrip : public ::testing::TestWithParam<PcmCase> {};

TEST_P(PcmRoundTrip, WithinHalfAStep) {
  const auto [ext, format, step] = GetParam();
  const TempDir dir;
  for (int ch : {1, 2}) {
    for (std::int64_t frames : {1, 4097, 70001}) {  // odd lengths, and one above the 65536-frame I/O block
      const Audio a = random_audio(ch, frames, 22050, static_cast<std::uint64_t>(frames * 10 + ch));
      const auto p = dir / str("p", ch, "_", frames, ext);
      unmix::write_audio(p, a, format);
      const Audio b = unmix::read_audio(p);
      expect_same_shape(b, a);
      const double err = max_abs_diff(b.samples, a.samples);
      EXPECT_LE(err, 0.5 * step * (1 + 1e-6)) << ext << " ch=" << ch << " frames=" << frames;
      EXPECT_GT(err, 0.0);  // really quantised, not written as float
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Formats, PcmRoundTrip,
                         ::testing::Values(PcmCase{".wav", SampleFormat::Pcm16, 1.0 / 32768},
                                           PcmCase{".wav", SampleFormat::Pcm24, 1.0 / 8388608},
                                           PcmCase{".flac", SampleFormat::Pcm16, 1.0 / 32768},
                                           PcmCase{".flac", SampleFormat::Pcm24, 1.0 / 8388608}),
                         [](const auto& param_info) {
                           const PcmCase& c = param_info.param;
                           return str(c.ext + 1, c.format == SampleFormat::Pcm16 ? "16" : "24");
                         });

TEST(AudioIo, IntegerFormatsClipInsteadOfWrapping) {
  const TempDir dir;
  Audio a = random_audio(1, 4, 8000, 3);
  a.samples = {1.5f, -1.5f, 1.0f, -1.0f};
  for (const char* name : {"c.wav", "c.flac"}) {
    unmix::write_audio(dir / name, a, SampleFormat::Pcm16);
    const Audio b = unmix::read_audio(dir / name);
    ASSERT_EQ(b.frames, 4);
    EXPECT_FLOAT_EQ(b.samples[0], 32767.0f / 32768.0f) << name;
    EXPECT_FLOAT_EQ(b.samples[1], -1.0f) << name;
    EXPECT_FLOAT_EQ(b.samples[2], 32767.0f / 32768.0f) << name;
    EXPECT_FLOAT_EQ(b.samples[3], -1.0f) << name;
  }
}

TEST(AudioIo, PlanarLayoutKeepsChannelsApart) {
  const TempDir dir;
  Audio a = random_audio(2, 1000, 44100, 4);
  std::fill(a.channel(0), a.channel(0) + a.frames, 0.25f);
  std::fill(a.channel(1), a.channel(1) + a.frames, -0.5f);
  unmix::write_audio(dir / "lr.wav", a, SampleFormat::Pcm16);
  // Check the on-disk interleaving with libsndfile itself, independently of read_audio.
  SF_INFO info{};
  SNDFILE* f = sf_open((dir / "lr.wav").c_str(), SFM_READ, &info);
  ASSERT_NE(f, nullptr);
  float frame[2] = {0, 0};
  ASSERT_EQ(sf_readf_float(f, frame, 1), 1);
  sf_close(f);
  EXPECT_FLOAT_EQ(frame[0], 0.25f);
  EXPECT_FLOAT_EQ(frame[1], -0.5f);
  const Audio b = unmix::read_audio(dir / "lr.wav");
  EXPECT_FLOAT_EQ(b.channel(0)[999], 0.25f);
  EXPECT_FLOAT_EQ(b.channel(1)[0], -0.5f);
}

TEST(AudioIo, UppercaseExtensionIsAccepted) {
  const TempDir dir;
  const Audio a = random_audio(2, 100, 44100, 5);
  unmix::write_audio(dir / "UP.FLAC", a, SampleFormat::Pcm24);
  EXPECT_EQ(unmix::probe_audio(dir / "UP.FLAC").format.rfind("FLAC", 0), 0u);
}

TEST(AudioIo, ProbeReportsHeaderFacts) {
  const TempDir dir;
  unmix::write_audio(dir / "p.wav", random_audio(2, 777, 32000, 6), SampleFormat::Pcm16);
  unmix::write_audio(dir / "p.flac", random_audio(1, 555, 48000, 7), SampleFormat::Pcm24);
  unmix::write_audio(dir / "f.wav", random_audio(1, 5, 8000, 8), SampleFormat::Float32);
  const auto w = unmix::probe_audio(dir / "p.wav");
  EXPECT_EQ(w.sample_rate, 32000);
  EXPECT_EQ(w.channels, 2);
  EXPECT_EQ(w.frames, 777);
  EXPECT_EQ(w.format, "WAV (Microsoft) / Signed 16 bit PCM");
  const auto fl = unmix::probe_audio(dir / "p.flac");
  EXPECT_EQ(fl.sample_rate, 48000);
  EXPECT_EQ(fl.channels, 1);
  EXPECT_EQ(fl.frames, 555);
  EXPECT_EQ(fl.format, "FLAC (Free Lossless Audio Codec) / Signed 24 bit PCM");
  EXPECT_EQ(unmix::probe_audio(dir / "f.wav").format, "WAV (Microsoft) / 32 bit float");
}

// ---------------------------------------------------------------- windows

TEST(AudioIo, ReadWindowSelectsExactFrames) {
  const TempDir dir;
  const Audio a = random_audio(2, 10000, 1000, 9);  // 1 kHz: seconds map to round frame numbers
  for (const char* name : {"w.wav", "w.flac"}) {
    const auto p = dir / name;
    unmix::write_audio(p, a, std::string(name) == "w.wav" ? SampleFormat::Float32 : SampleFormat::Pcm24);
    const Audio w = unmix::read_audio(p, 2.5, 1.25);
    ASSERT_EQ(w.frames, 1250) << name;
    ASSERT_EQ(w.channels, 2);
    for (int c = 0; c < 2; ++c)
      for (std::int64_t i = 0; i < w.frames; ++i)
        ASSERT_NEAR(w.channel(c)[i], a.channel(c)[2500 + i], 1e-6) << name << " c=" << c << " i=" << i;
    const Audio tail = unmix::read_audio(p, 9.0);  // duration < 0: to the end
    ASSERT_EQ(tail.frames, 1000);
    EXPECT_NEAR(tail.channel(1)[999], a.channel(1)[9999], 1e-6);
    const Audio cut = unmix::read_audio(p, 9.5, 100.0);  // runs past the end: cut there
    EXPECT_EQ(cut.frames, 500);
    EXPECT_NEAR(cut.channel(0)[0], a.channel(0)[9500], 1e-6);
  }
}

TEST(AudioIo, ReadWindowErrors) {
  const TempDir dir;
  const auto p = dir / "w.wav";
  unmix::write_audio(p, random_audio(1, 1000, 1000, 10));
  expect_error([&] { unmix::read_audio(p, 1.0); }, {p.string(), "beyond the end"});  // start == end
  expect_error([&] { unmix::read_audio(p, 5.0, 1.0); }, {p.string(), "beyond the end"});
  expect_error([&] { unmix::read_audio(p, -1.0); }, {p.string(), "start"});
  expect_error([&] { unmix::read_audio(p, 0.0, 0.0); }, {p.string(), "no frames"});
  expect_error([&] { unmix::read_audio(p, std::nan(""), 1.0); }, {p.string(), "start"});
}

// ---------------------------------------------------------------- lossy formats

// Lossy decoders are checked by length and by correlation with the encoded signal.
void check_lossy(const fs::path& p, int sf_format, int rate, bool exact_length) {
  if (!can_write(sf_format)) GTEST_SKIP() << "this libsndfile cannot write format 0x" << std::hex << sf_format;
  const Audio a = sine_audio(2, rate + 37, rate, 440.0);
  ASSERT_NO_FATAL_FAILURE(write_with_sndfile(p, a, sf_format));
  const Audio b = unmix::read_audio(p);
  EXPECT_EQ(b.channels, 2);
  EXPECT_EQ(b.sample_rate, rate);
  if (exact_length) {
    EXPECT_EQ(b.frames, a.frames);
  } else {
    EXPECT_NEAR(static_cast<double>(b.frames), static_cast<double>(a.frames), 2 * 1152.0);
  }
  const auto n = static_cast<std::size_t>(std::min(a.frames, b.frames));
  for (int c = 0; c < 2; ++c) EXPECT_GT(correlation(a.channel(c), b.channel(c), n), 0.99) << "channel " << c;
  // A window holds exactly the samples of the full decode (libsndfile's own seek in these streams
  // is not sample-accurate, which this catches at some of these offsets).
  for (std::int64_t start : {1000, 5000, rate / 4, rate / 2, rate * 2 / 3}) {
    const Audio w = unmix::read_audio(p, static_cast<double>(start) / rate, 0.1);
    ASSERT_EQ(w.frames, rate / 10) << "start " << start;
    std::vector<float> got(w.channel(0), w.channel(0) + 2 * w.frames), want;
    for (int c = 0; c < 2; ++c) want.insert(want.end(), b.channel(c) + start, b.channel(c) + start + w.frames);
    EXPECT_LE(max_abs_diff(got, want), 1e-6) << "start " << start;
  }
}

TEST(AudioIo, OggVorbisDecodes) {
  const TempDir dir;
  check_lossy(dir / "s.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 44100, true);
}

TEST(AudioIo, OggOpusDecodes) {  // Opus only runs at 8/12/16/24/48 kHz
  const TempDir dir;
  check_lossy(dir / "s.opus", SF_FORMAT_OGG | SF_FORMAT_OPUS, 48000, true);
}

TEST(AudioIo, Mp3Decodes) {
  const TempDir dir;
  check_lossy(dir / "s.mp3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, 44100, false);
}

// ---------------------------------------------------------------- bitrates (mp3, opus)

namespace {

// Bitrate (kbit/s) of every MPEG audio frame of a Layer III file, in order, from the frame headers (ISO
// 11172-3 / 13818-3 tables); an ID3v2 tag in front is skipped, a trailing ID3v1 tag ends the walk.
std::vector<int> mp3_frame_bitrates(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  const std::string b{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(b[i]); };
  static constexpr int kMpeg1[15] = {0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320};
  static constexpr int kMpeg2[15] = {0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160};
  static constexpr int kRates[3][3] = {{11025, 12000, 8000}, {22050, 24000, 16000}, {44100, 48000, 32000}};
  std::size_t at = 0;
  if (b.compare(0, 3, "ID3") == 0 && b.size() >= 10)
    at = 10 + ((byte(6) & 0x7f) << 21 | (byte(7) & 0x7f) << 14 | (byte(8) & 0x7f) << 7 | (byte(9) & 0x7f));
  std::vector<int> rates;
  while (at + 4 <= b.size() && byte(at) == 0xff && (byte(at + 1) & 0xe0) == 0xe0) {
    const int version = (byte(at + 1) >> 3) & 3;  // 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5
    const int index = byte(at + 2) >> 4, rate_index = (byte(at + 2) >> 2) & 3, padding = (byte(at + 2) >> 1) & 1;
    if (((byte(at + 1) >> 1) & 3) != 1 || version == 1 || index == 0 || index == 15 || rate_index == 3) {
      ADD_FAILURE() << p << ": not a Layer III frame header at byte " << at;
      break;
    }
    const int kbps = version == 3 ? kMpeg1[index] : kMpeg2[index];
    const int rate = kRates[version == 3 ? 2 : version == 2 ? 1 : 0][rate_index];
    rates.push_back(kbps);
    at += static_cast<std::size_t>((version == 3 ? 144000 : 72000) * kbps / rate + padding);
  }
  EXPECT_TRUE(at == b.size() || b.compare(at, 3, "TAG") == 0) << p << ": " << b.size() - at << " bytes after the frames";
  return rates;
}

// Six seconds of stereo noise: nothing for a VBR or ABR encoder to save on, so it spends what it aims at.
constexpr double kBitrateSeconds = 6.0;

// Writes the noise at `rate` with `kbps` and returns the bitrate the file has: bytes * 8 / duration.
double written_kbps(const fs::path& p, int rate, int kbps, bool variable) {
  const Audio a = random_audio(2, static_cast<std::int64_t>(kBitrateSeconds * rate), rate, 31, 0.3);
  unmix::WriteOptions w;
  w.kbps = kbps;
  w.variable = variable;
  unmix::AudioWriter f(p, rate, 2, w);
  f.write(a.samples.data(), a.frames, a.frames);
  f.commit();
  const double got = static_cast<double>(fs::file_size(p)) * 8 / kBitrateSeconds / 1000;
  std::printf("  %s %s %d kbit/s at %d Hz: %ju bytes, %.1f kbit/s (%.3f of the target)\n", p.extension().c_str(),
              p.extension() == ".mp3" ? (variable ? "ABR" : "CBR") : "VBR", kbps, rate,
              static_cast<std::uintmax_t>(fs::file_size(p)), got, got / kbps);
  return got;
}

}  // namespace

// libsndfile 1.2 reads the level as bitrate = (int) (max - level * (max - min)) for mp3 (mpeg_l3_encode.c)
// and bit/s = (int) ((1 - level) * 250000 + 6000) * channels for opus (ogg_opus.c): the level chosen must
// land on the bitrate exactly, truncation included, for every bitrate the encoders take.
TEST(AudioBitrate, LevelIsTheExactInverseOfLibsndfilesMap) {
  for (int rate : {8000, 11025, 16000, 22050, 32000, 44100, 48000}) {
    const std::vector<int> table = unmix::mp3_bitrates(rate);
    ASSERT_FALSE(table.empty());
    for (bool variable : {false, true})
      for (int kbps = table.front(); kbps <= table.back(); ++kbps) {
        const unmix::EncoderBitrate b = unmix::encoder_bitrate("mp3", kbps, variable, rate, 2);
        const double top = table.back(), span = table.back() - table.front();
        EXPECT_EQ(static_cast<int>(top - b.level * span), b.kbps) << rate << " Hz, " << kbps << " kbit/s";
        EXPECT_GE(b.level, 0.0);
        EXPECT_LE(b.level, 1.0);
        if (variable || std::find(table.begin(), table.end(), kbps) != table.end()) {
          EXPECT_EQ(b.kbps, kbps) << rate << " Hz";
          EXPECT_EQ(b.note, "") << rate << " Hz, " << kbps << " kbit/s";
        }
      }
  }
  for (int channels : {1, 2})
    for (int kbps = 6 * channels; kbps <= 256 * channels; kbps += channels) {
      const unmix::EncoderBitrate b = unmix::encoder_bitrate("opus", kbps, true, 48000, channels);
      EXPECT_EQ(b.kbps, kbps);
      EXPECT_EQ(b.note, "");
      EXPECT_EQ(static_cast<int>((1 - b.level) * 250000 + 6000) * channels, kbps * 1000) << kbps << " kbit/s";
    }
}

TEST(AudioBitrate, OthersGoToTheNearestWithANote) {
  auto expect = [](const std::string& ext, int kbps, bool variable, int rate, int channels, int want) {
    const unmix::EncoderBitrate b = unmix::encoder_bitrate(ext, kbps, variable, rate, channels);
    EXPECT_EQ(b.kbps, want) << ext << " " << kbps << " kbit/s at " << rate << " Hz";
    EXPECT_NE(b.note.find(str(want, " kbit/s")), std::string::npos) << b.note;
    EXPECT_EQ(b.note.find('\n'), std::string::npos) << b.note;
  };
  expect("mp3", 100, false, 44100, 2, 96);   // between 96 and 112
  expect("mp3", 300, false, 44100, 2, 320);  // between 256 and 320
  expect("mp3", 60, false, 48000, 2, 56);    // halfway: the lower, as LAME's own rounding
  expect("mp3", 8, false, 44100, 2, 32);     // MPEG-1 starts at 32
  expect("mp3", 192, false, 22050, 2, 160);  // MPEG-2 ends at 160
  expect("mp3", 128, true, 11025, 1, 64);    // MPEG-2.5 ends at 64, averaged too
  expect("mp3", 16, true, 32000, 2, 32);
  expect(".opus", 8, true, 48000, 2, 12);    // 6 kbit/s per channel at least
  expect("opus", 300, true, 24000, 1, 256);  // 256 per channel at most
  EXPECT_NE(unmix::encoder_bitrate("mp3", 100, false, 44100, 2).note.find("112"), std::string::npos)
      << "the note lists the bitrates there are";
  expect_error([] { unmix::encoder_bitrate("ogg", 128, true, 44100, 2); }, {"Vorbis", "--quality"});
  for (const char* ext : {"wav", "flac"}) expect_error([&] { unmix::encoder_bitrate(ext, 128, true, 44100, 2); }, {ext});
  expect_error([] { unmix::encoder_bitrate("mp3", 0, true, 44100, 2); }, {"positive"});
}

// CBR: every frame at the bitrate (a value LAME has not, at the nearest); the file is those frames plus at
// most 4 more: LAME's delay and flush (1105 samples, under 2 of MPEG-2's 576-sample frames), the last
// frame's padding and the Info header. 4 frames are 104 ms at 44.1 kHz (1152 samples) and at 22.05 kHz (576),
// 1.7 % of 6 s.
TEST(AudioBitrate, Mp3ConstantBitrateIsExact) {
  if (!can_write(SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III)) GTEST_SKIP() << "no MP3 encoder";
  const TempDir dir;
  struct Case {
    int rate, kbps, frame_bitrate;
  };
  for (const Case c : {Case{44100, 96, 96}, Case{44100, 128, 128}, Case{44100, 192, 192}, Case{44100, 320, 320},
                       Case{44100, 100, 96}, Case{22050, 64, 64}, Case{22050, 160, 160}}) {
    SCOPED_TRACE(str(c.kbps, " kbit/s at ", c.rate, " Hz"));
    const fs::path p = dir / str("cbr", c.rate, "-", c.kbps, ".mp3");
    const double got = written_kbps(p, c.rate, c.kbps, false);
    const std::vector<int> frames = mp3_frame_bitrates(p);
    ASSERT_FALSE(frames.empty());
    EXPECT_EQ(std::count(frames.begin(), frames.end(), c.frame_bitrate), static_cast<std::ptrdiff_t>(frames.size()));
    const double frame_seconds = (c.rate >= 32000 ? 1152.0 : 576.0) / c.rate;
    EXPECT_GE(got, c.frame_bitrate * 0.999);  // the padding byte some 44.1 kHz frames leave out
    EXPECT_LE(got, c.frame_bitrate * (1 + 4 * frame_seconds / kBitrateSeconds));
  }
}

// Average bitrate (LAME's ABR) and Opus (libopus's VBR) aim at the bitrate over the stream. On noise LAME's
// ABR measured 94-98 % and Opus 102-104 % (Ogg pages and headers are about 1 % of that): 85-105 % and
// 95-110 % leave room for other builds of the encoders without passing a file of the wrong bitrate.
TEST(AudioBitrate, AverageMp3AndOpusFollowTheBitrate) {
  const TempDir dir;
  if (can_write(SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III)) {
    double last = 0;
    for (int kbps : {96, 128, 192, 320}) {
      const double got = written_kbps(dir / str("abr", kbps, ".mp3"), 44100, kbps, true);
      EXPECT_GE(got, 0.85 * kbps);
      EXPECT_LE(got, 1.05 * kbps);
      EXPECT_GT(got, last);
      last = got;
      // ABR frames vary around the mean: more than one bitrate in the stream shows it is not CBR.
      const std::vector<int> frames = mp3_frame_bitrates(dir / str("abr", kbps, ".mp3"));
      EXPECT_GT(std::set<int>(frames.begin(), frames.end()).size(), 1u) << kbps;
    }
  }
  if (can_write(SF_FORMAT_OGG | SF_FORMAT_OPUS)) {
    for (int kbps : {64, 128}) {
      const double got = written_kbps(dir / str("b", kbps, ".opus"), 48000, kbps, true);
      EXPECT_GE(got, 0.95 * kbps);
      EXPECT_LE(got, 1.10 * kbps);
    }
    // Mono at 64 kbit/s has twice the bits per channel: the bitrate is the stream's, not the channel's.
    const Audio mono = random_audio(1, static_cast<std::int64_t>(kBitrateSeconds * 48000), 48000, 32, 0.3);
    unmix::WriteOptions w;
    w.kbps = 64;
    unmix::AudioWriter f(dir / "mono.opus", 48000, 1, w);
    f.write(mono.samples.data(), mono.frames, mono.frames);
    f.commit();
    const double got = static_cast<double>(fs::file_size(dir / "mono.opus")) * 8 / kBitrateSeconds / 1000;
    EXPECT_GE(got, 0.95 * 64);
    EXPECT_LE(got, 1.10 * 64);
  }
}

TEST(AudioBitrateErrors, FormatsWithoutABitrateAndBitrateWithQuality) {
  const TempDir dir;
  const Audio a = random_audio(2, 4000, 44100, 33, 0.3);
  unmix::WriteOptions w;
  w.kbps = 128;
  expect_error([&] { unmix::AudioWriter(dir / "x.ogg", 44100, 2, w); }, {(dir / "x.ogg").string(), "Vorbis", "quality"});
  for (const char* name : {"x.wav", "x.flac"})
    expect_error([&] { unmix::AudioWriter(dir / name, 44100, 2, w); }, {(dir / name).string(), "bitrate"});
  w.quality = 0.5;
  expect_error([&] { unmix::AudioWriter(dir / "x.mp3", 44100, 2, w); }, {(dir / "x.mp3").string(), "not both"});
  w.quality = -1;
  w.kbps = -5;
  expect_error([&] { unmix::AudioWriter(dir / "x.opus", 48000, 2, w); }, {(dir / "x.opus").string(), "positive"});
  EXPECT_TRUE(files_in(dir).empty());
}

// An Ogg stream cut short has no end marker, so its length is unknown up front (probe says -1) and
// read_audio decodes what is there, growing its buffer past the initial guess.
TEST(AudioIo, OggCutShortDecodesWhatIsThere) {
  if (!can_write(SF_FORMAT_OGG | SF_FORMAT_VORBIS)) GTEST_SKIP() << "no Vorbis encoder";
  const TempDir dir;
  const auto p = dir / "cut.ogg";
  const Audio a = sine_audio(2, 10 * 44100, 44100, 440.0);
  ASSERT_NO_FATAL_FAILURE(write_with_sndfile(p, a, SF_FORMAT_OGG | SF_FORMAT_VORBIS));
  fs::resize_file(p, fs::file_size(p) * 6 / 10);
  EXPECT_EQ(unmix::probe_audio(p).frames, -1);
  const Audio b = unmix::read_audio(p);
  EXPECT_GT(b.frames, 3 * 65536);  // several times the initial buffer
  EXPECT_LT(b.frames, a.frames * 8 / 10);
  ASSERT_EQ(b.samples.size(), static_cast<std::size_t>(2 * b.frames));
  for (int c = 0; c < 2; ++c)
    EXPECT_GT(correlation(a.channel(c), b.channel(c), static_cast<std::size_t>(b.frames)), 0.99) << "channel " << c;
}

// ---------------------------------------------------------------- broken inputs

TEST(AudioIoErrors, MissingFile) {
  const TempDir dir;
  const auto p = dir / "nope.wav";
  expect_error([&] { unmix::read_audio(p); }, {p.string(), "no such file"});
  expect_error([&] { unmix::probe_audio(p); }, {p.string(), "no such file"});
}

TEST(AudioIoErrors, DirectoryIsNotAudio) {
  const TempDir dir;
  expect_error([&] { unmix::read_audio(dir); }, {dir.string(), "directory"});
}

TEST(AudioIoErrors, ZeroByteFile) {
  const TempDir dir;
  const auto p = dir / "empty.wav";
  write_bytes(p, "");
  expect_error([&] { unmix::read_audio(p); }, {p.string(), "empty"});
}

TEST(AudioIoErrors, TextFileNamedWav) {
  const TempDir dir;
  const auto p = dir / "text.wav";
  write_bytes(p, "this is not audio, just some text\nsecond line\n");
  expect_error([&] { unmix::read_audio(p); }, {p.string(), "cannot open as audio"});
  expect_error([&] { unmix::probe_audio(p); }, {p.string(), "cannot open as audio"});
}

TEST(AudioIoErrors, UnreadableFile) {
  if (::geteuid() == 0) GTEST_SKIP() << "root can read files without permission";
  const TempDir dir;
  const auto p = dir / "locked.wav";
  unmix::write_audio(p, random_audio(1, 100, 8000, 29));
  fs::permissions(p, fs::perms::none);
  expect_error([&] { unmix::read_audio(p); }, {p.string(), "cannot open"});
}

TEST(AudioIoErrors, WavWithZeroFrames) {
  const TempDir dir;
  const auto p = dir / "zero.wav";
  Audio a = random_audio(2, 0, 44100, 11);
  write_with_sndfile(p, a, SF_FORMAT_WAV | SF_FORMAT_PCM_16);
  ASSERT_GT(fs::file_size(p), 0u);  // a valid header, just no data
  expect_error([&] { unmix::read_audio(p); }, {p.string(), "no audio frames"});
  EXPECT_EQ(unmix::probe_audio(p).frames, 0);
}

TEST(AudioIoErrors, TruncatedWav) {
  const TempDir dir;
  for (SampleFormat fmt : {SampleFormat::Pcm16, SampleFormat::Pcm24, SampleFormat::Float32}) {
    const auto p = dir / "cut.wav";
    unmix::write_audio(p, random_audio(2, 10001, 44100, 12), fmt);
    fs::resize_file(p, fs::file_size(p) - 1001);  // also leaves a partial frame
    expect_error([&] { unmix::read_audio(p); }, {p.string(), "truncated", "header says 10001 frames"});
    expect_error([&] { unmix::probe_audio(p); }, {p.string(), "truncated"});
  }
}

TEST(AudioIoErrors, TruncatedWavex) {  // WAVE_FORMAT_EXTENSIBLE, as many tools write 24-bit files
  const TempDir dir;
  const auto p = dir / "cut.wav";
  ASSERT_NO_FATAL_FAILURE(write_with_sndfile(p, random_audio(2, 5000, 48000, 30), SF_FORMAT_WAVEX | SF_FORMAT_PCM_24));
  EXPECT_EQ(unmix::read_audio(p).frames, 5000);
  fs::resize_file(p, fs::file_size(p) - 600);
  expect_error([&] { unmix::read_audio(p); }, {p.string(), "truncated", "header says 5000 frames, file holds 4900"});
}

// A FLAC written to a pipe declares 0 (unknown) total samples; libsndfile then reports an unknown
// length, and the file must decode in full rather than count as empty or truncated.
TEST(AudioIo, FlacWithUnknownLengthDecodes) {
  const TempDir dir;
  const auto p = dir / "stream.flac";
  const Audio a = random_audio(2, 30001, 44100, 31);
  unmix::write_audio(p, a, SampleFormat::Pcm24);
  {
    // STREAMINFO starts at byte 8; its 36-bit total-samples field spans the low nibble of byte 21
    // and bytes 22..25.
    std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
    char bytes[5];
    f.seekg(21);
    f.read(bytes, 5);
    bytes[0] = static_cast<char>(bytes[0] & 0xF0);
    std::fill(bytes + 1, bytes + 5, '\0');
    f.seekp(21);
    f.write(bytes, 5);
  }
  ASSERT_EQ(unmix::probe_audio(p).frames, -1);  // the edit took effect
  const Audio b = unmix::read_audio(p);
  expect_same_shape(b, a);
  EXPECT_LE(max_abs_diff(b.samples, a.samples), 0.5 / 8388608 * (1 + 1e-6));
  EXPECT_EQ(unmix::read_audio(p, 30000.0 / 44100).frames, 1);
}

TEST(AudioIoErrors, TruncatedFlac) {
  const TempDir dir;
  const auto p = dir / "cut.flac";
  unmix::write_audio(p, random_audio(2, 100001, 44100, 13), SampleFormat::Pcm16);
  fs::resize_file(p, fs::file_size(p) / 2);
  expect_error([&] { unmix::read_audio(p); }, {p.string()});
}

// ---------------------------------------------------------------- write errors

TEST(AudioIoErrors, UnsupportedOutputExtension) {
  const TempDir dir;
  const Audio a = random_audio(1, 10, 8000, 14);
  for (const char* name : {"x.aac", "x.m4a", "x.txt", "noext"}) {  // mp3, opus and ogg are written
    expect_error([&] { unmix::write_audio(dir / name, a); }, {(dir / name).string(), "unsupported output extension"});
  }
  expect_error([&] { unmix::write_audio(dir / "f.flac", a, SampleFormat::Float32); }, {(dir / "f.flac").string(), "FLAC"});
  EXPECT_TRUE(files_in(dir).empty());
}

TEST(AudioIoErrors, InvalidAudioIsRefused) {
  const TempDir dir;
  const auto p = dir / "x.wav";
  expect_error([&] { unmix::write_audio(p, random_audio(2, 0, 8000, 15)); }, {p.string(), "0 frames"});
  Audio bad = random_audio(2, 10, 8000, 16);
  bad.samples.pop_back();
  expect_error([&] { unmix::write_audio(p, bad); }, {p.string(), "expected 20"});
  Audio no_rate = random_audio(1, 10, 8000, 17);
  no_rate.sample_rate = 0;
  expect_error([&] { unmix::write_audio(p, no_rate); }, {p.string(), "sample rate"});
  expect_error([&] { unmix::write_audio(dir / "missing" / "x.wav", random_audio(1, 10, 8000, 18)); },
               {(dir / "missing" / "x.wav").string()});
  EXPECT_TRUE(files_in(dir).empty());
}

// A NaN near the end fails the write after the temporary file has been created and partly written:
// neither the temporary file nor a half-written target may remain, and an old target stays intact.
TEST(AudioIoErrors, FailedWriteLeavesNothingBehind) {
  const TempDir dir;
  const auto p = dir / "out.wav";
  Audio bad = random_audio(2, 200000, 44100, 19);
  bad.channel(1)[199990] = std::nanf("");
  expect_error([&] { unmix::write_audio(p, bad, SampleFormat::Pcm16); }, {p.string(), "not finite", "frame 199990"});
  EXPECT_TRUE(files_in(dir).empty());

  const Audio good = random_audio(1, 100, 8000, 20);
  unmix::write_audio(p, good, SampleFormat::Float32);
  expect_error([&] { unmix::write_audio(p, bad, SampleFormat::Pcm16); }, {p.string()});
  ASSERT_EQ(files_in(dir).size(), 1u);
  EXPECT_EQ(unmix::read_audio(p).samples, good.samples);
}

// ---------------------------------------------------------------- resampling

// A sine resampled to a new rate must match the ideal sine at that rate away from the edges
// (where the sinc filter sees the signal switching on/off).
void check_resampled_sine(int from, int to, std::int64_t frames, unmix::ResampleQuality q, double tol) {
  const Audio a = sine_audio(2, frames, from, 1000.0);
  const Audio b = unmix::resample(a, to, q);
  const Audio ideal = sine_audio(2, b.frames, to, 1000.0);
  EXPECT_EQ(b.sample_rate, to);
  EXPECT_EQ(b.channels, 2);
  EXPECT_EQ(b.frames, std::llround(static_cast<double>(frames) * to / from));
  ASSERT_EQ(b.samples.size(), static_cast<std::size_t>(2 * b.frames));
  const std::int64_t edge = to / 20;  // 50 ms
  for (int c = 0; c < 2; ++c) {
    const auto n = static_cast<std::size_t>(b.frames - 2 * edge);
    const std::span<const float> got(b.channel(c) + edge, n), want(ideal.channel(c) + edge, n);
    EXPECT_LT(unmix::test::rel_error(got, want), tol) << from << "->" << to << " channel " << c;
    // The edges ring a little (the input starts and stops abruptly) but must not drop out: an
    // unflushed converter leaves its last ~20 frames at zero.
    for (std::int64_t i : {std::int64_t{0}, std::int64_t{1}, b.frames - 16, b.frames - 2, b.frames - 1}) {
      if (i < 0) continue;
      EXPECT_NEAR(b.channel(c)[i], ideal.channel(c)[i], 0.1) << from << "->" << to << " channel " << c << " frame " << i;
    }
  }
}

TEST(Resample, SineKeepsFrequencyAndAmplitude) {
  // Measured: ~1e-7 for Best, ~1e-5 for Fastest.
  check_resampled_sine(48000, 44100, 48000 + 7, unmix::ResampleQuality::Best, 1e-5);
  check_resampled_sine(44100, 48000, 44100 + 3, unmix::ResampleQuality::Best, 1e-5);
  check_resampled_sine(44100, 16000, 44100, unmix::ResampleQuality::Best, 1e-5);
  check_resampled_sine(48000, 44100, 48000, unmix::ResampleQuality::Fastest, 1e-4);
}

TEST(Resample, OutputLengthIsRoundedProduct) {
  struct Case {
    std::int64_t frames;
    int from, to;
    std::int64_t want;
  };
  for (const auto& [frames, from, to, want] : {Case{0, 48000, 44100, 0}, Case{1, 48000, 44100, 1},
                                               Case{3, 48000, 44100, 3},      // 2.756
                                               Case{10, 48000, 44100, 9},     // 9.1875
                                               Case{160, 48000, 44100, 147},  // exact
                                               Case{1, 44100, 22050, 1},      // 0.5 rounds up
                                               Case{3, 44100, 22050, 2},      // 1.5 rounds up
                                               Case{1001, 8000, 44100, 5518},  // 5518.0125
                                               Case{48000, 48000, 188, 188},   // ratio ~1/255
                                               Case{1000, 8000, 2048000, 256000}}) {  // ratio 256
    const Audio b = unmix::resample(random_audio(2, frames, from, 21), to);
    EXPECT_EQ(b.frames, want) << frames << " frames " << from << "->" << to;
    EXPECT_EQ(b.samples.size(), static_cast<std::size_t>(2 * want));
  }
}

TEST(Resample, SameRateIsIdentity) {
  const Audio a = random_audio(2, 4411, 44100, 22);
  const Audio b = unmix::resample(a, 44100);
  expect_same_shape(b, a);
  EXPECT_EQ(b.samples, a.samples);
}

TEST(Resample, InvalidRatesAreErrors) {
  const Audio a = random_audio(1, 100, 44100, 23);
  expect_error([&] { unmix::resample(a, 0); }, {"resample", "target sample rate"});
  expect_error([&] { unmix::resample(a, 44100 * 300); }, {"resample", "outside"});
  Audio no_rate = a;
  no_rate.sample_rate = 0;
  expect_error([&] { unmix::resample(no_rate, 8000); }, {"resample", "source sample rate"});
}

// ---------------------------------------------------------------- channel policy

TEST(ToChannels, MonoToStereoDuplicates) {
  const Audio a = random_audio(1, 501, 44100, 24);
  const Audio b = unmix::to_channels(a, 2);
  ASSERT_EQ(b.channels, 2);
  ASSERT_EQ(b.frames, 501);
  EXPECT_EQ(b.sample_rate, 44100);
  EXPECT_TRUE(std::equal(a.channel(0), a.channel(0) + 501, b.channel(0)));
  EXPECT_TRUE(std::equal(a.channel(0), a.channel(0) + 501, b.channel(1)));
}

TEST(ToChannels, StereoToMonoAverages) {
  const Audio a = random_audio(2, 501, 44100, 25);
  const Audio b = unmix::to_channels(a, 1);
  ASSERT_EQ(b.channels, 1);
  ASSERT_EQ(b.samples.size(), 501u);
  for (int i = 0; i < 501; ++i) EXPECT_FLOAT_EQ(b.channel(0)[i], 0.5f * (a.channel(0)[i] + a.channel(1)[i]));
}

TEST(ToChannels, MoreThanTwoUsesTheFirstTwo) {
  const Audio a = random_audio(5, 300, 48000, 26);
  const Audio s = unmix::to_channels(a, 2);
  ASSERT_EQ(s.channels, 2);
  EXPECT_TRUE(std::equal(a.samples.begin(), a.samples.begin() + 600, s.samples.begin()));
  const Audio m = unmix::to_channels(a, 1);
  ASSERT_EQ(m.channels, 1);
  for (int i = 0; i < 300; ++i) EXPECT_FLOAT_EQ(m.channel(0)[i], 0.5f * (a.channel(0)[i] + a.channel(1)[i]));
}

TEST(ToChannels, SameCountIsCopyAndBadCountsFail) {
  const Audio a = random_audio(2, 10, 44100, 27);
  EXPECT_EQ(unmix::to_channels(a, 2).samples, a.samples);
  const Audio m = random_audio(1, 10, 44100, 28);
  EXPECT_EQ(unmix::to_channels(m, 1).samples, m.samples);
  expect_error([&] { unmix::to_channels(a, 3); }, {"to_channels", "1 or 2"});
  expect_error([&] { unmix::to_channels(a, 0); }, {"to_channels", "1 or 2"});
}
