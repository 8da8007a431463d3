// Audio file reading, probing and writing through libsndfile.
#include <sndfile.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "unmix/audio.h"
#include "unmix/error.h"

namespace unmix {
namespace {

namespace fs = std::filesystem;

constexpr sf_count_t kBlockFrames = 1 << 16;
// Initial buffer sizes: a corrupt header claiming billions of frames must not trigger a huge
// allocation up front, and a stream of unknown length starts small; the buffer grows as data arrives.
constexpr sf_count_t kMaxInitialFrames = sf_count_t{1} << 24;
constexpr sf_count_t kUnknownInitialFrames = kBlockFrames;
// Decode blocks of at most 2^19 samples: a header may claim up to 1024 channels.
sf_count_t block_frames_for(int channels) {
  return std::clamp<sf_count_t>(kBlockFrames * 8 / std::max(1, channels), 256, kBlockFrames);
}

struct SndfileCloser {
  void operator()(SNDFILE* f) const { sf_close(f); }
};
using SndfilePtr = std::unique_ptr<SNDFILE, SndfileCloser>;

// libsndfile messages are usually one line, but keep the "<path>: <problem>" contract regardless.
std::string one_line(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  while (!s.empty() && (s.back() == ' ' || s.back() == '.')) s.pop_back();
  return s;
}

std::uint32_t le32(const unsigned char* p) {
  return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 | std::uint32_t{p[3]} << 24;
}

// libsndfile silently clamps a RIFF/WAVE data chunk that runs past the end of the file to the bytes
// present (it only notes "should be" in its log), so a truncated WAV would read as a shorter, valid
// one. Walk the chunk headers ourselves and compare the declared data size with what is on disk.
void check_wav_not_truncated(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return;  // libsndfile opened it; any I/O problem will surface there
  std::error_code ec;
  const auto file_size = static_cast<std::uint64_t>(fs::file_size(path, ec));
  if (ec) return;
  std::array<unsigned char, 12> riff{};
  if (!in.read(reinterpret_cast<char*>(riff.data()), riff.size())) return;
  if (std::string(riff.begin(), riff.begin() + 4) != "RIFF" || std::string(riff.begin() + 8, riff.end()) != "WAVE")
    return;  // RF64, RIFX, W64, ...: left to libsndfile
  std::uint64_t offset = 12;
  std::uint32_t block_align = 0;
  for (int guard = 0; guard < 4096 && offset + 8 <= file_size; ++guard) {
    std::array<unsigned char, 8> hdr{};
    in.seekg(static_cast<std::streamoff>(offset));
    if (!in.read(reinterpret_cast<char*>(hdr.data()), hdr.size())) return;
    const std::string id(hdr.begin(), hdr.begin() + 4);
    const std::uint32_t size = le32(hdr.data() + 4);
    if (id == "fmt " && size >= 14) {
      std::array<unsigned char, 14> fmt{};
      if (!in.read(reinterpret_cast<char*>(fmt.data()), fmt.size())) return;
      block_align = std::uint32_t{fmt[12]} | std::uint32_t{fmt[13]} << 8;
    } else if (id == "data") {
      // 0 and 0xFFFFFFFF are the "length unknown" markers of streaming writers.
      if (size == 0 || size == 0xFFFFFFFFu || block_align == 0) return;
      const std::uint64_t present = file_size - (offset + 8);
      if (size > present)
        fail(path, "truncated: header says " + std::to_string(size / block_align) + " frames, file holds " +
                       std::to_string(present / block_align));
      return;
    }
    offset += 8 + std::uint64_t{size} + (size & 1u);  // chunks are padded to even sizes
  }
}

struct OpenFile {
  SndfilePtr file;
  SF_INFO info{};
};

OpenFile open_for_read(const fs::path& path) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);  // follows links; a link loop is an error here
  if (ec && ec != std::errc::no_such_file_or_directory) fail(path, "cannot read: " + ec.message());
  if (!fs::exists(st)) fail(path, "no such file");
  if (fs::is_directory(st)) fail(path, "is a directory, not an audio file");
  // A FIFO, socket or device would block or never end; audio comes from files.
  if (!fs::is_regular_file(st)) fail(path, "not a regular file (a FIFO, socket or device); give an audio file");
  if (fs::file_size(path, ec) == 0 && !ec) fail(path, "file is empty (0 bytes)");
  OpenFile f;
  f.file.reset(sf_open(path.c_str(), SFM_READ, &f.info));
  if (!f.file) fail(path, "cannot open as audio: " + one_line(sf_strerror(nullptr)));
  if (f.info.channels < 1) fail(path, "header declares no channels");
  if (f.info.samplerate < 1) fail(path, "header declares no sample rate");
  const int major = f.info.format & SF_FORMAT_TYPEMASK;
  if (major == SF_FORMAT_WAV || major == SF_FORMAT_WAVEX) check_wav_not_truncated(path);
  return f;
}

// MP3 frame counts come from Xing/VBR headers or estimates, Ogg reports SF_COUNT_MAX when the
// stream has no end marker, and a streamed FLAC may declare 0 (unknown) samples: for those the
// decoded data is the authority. Elsewhere the header length is checked against what decodes.
bool header_length_is_exact(const SF_INFO& info) {
  const int major = info.format & SF_FORMAT_TYPEMASK;
  return major != SF_FORMAT_MPEG && major != SF_FORMAT_OGG && info.frames > 0 && info.frames != SF_COUNT_MAX;
}

std::string format_name(int format) {
  auto name = [](int code) -> std::string {
    SF_FORMAT_INFO fi{};
    fi.format = code;
    if (sf_command(nullptr, SFC_GET_FORMAT_INFO, &fi, sizeof(fi)) == 0 && fi.name != nullptr) return fi.name;
    char buf[24];
    std::snprintf(buf, sizeof(buf), "format 0x%x", static_cast<unsigned>(code));
    return buf;
  };
  return name(format & SF_FORMAT_TYPEMASK) + " / " + name(format & SF_FORMAT_SUBMASK);
}

std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3f s", s);
  return buf;
}

// Planar buffer whose per-channel capacity can change while keeping each channel's first `used` frames.
void relayout(std::vector<float>& buf, int channels, sf_count_t old_cap, sf_count_t new_cap, sf_count_t used) {
  const auto ch = static_cast<std::size_t>(channels);
  const auto oc = static_cast<std::size_t>(old_cap), nc = static_cast<std::size_t>(new_cap);
  const auto n = static_cast<std::size_t>(used);
  if (nc > oc) {
    std::vector<float> grown(ch * nc);
    for (std::size_t c = 0; c < ch; ++c) std::copy_n(buf.begin() + c * oc, n, grown.begin() + c * nc);
    buf.swap(grown);
  } else {
    // Shrinking moves every channel towards the front, so a forward copy never overwrites unread data.
    for (std::size_t c = 1; c < ch; ++c) std::copy_n(buf.begin() + c * oc, n, buf.begin() + c * nc);
    buf.resize(ch * nc);
    buf.shrink_to_fit();
  }
}

int subtype_for(SampleFormat format) {
  switch (format) {
    case SampleFormat::Pcm16: return SF_FORMAT_PCM_16;
    case SampleFormat::Pcm24: return SF_FORMAT_PCM_24;
    case SampleFormat::Float32: return SF_FORMAT_FLOAT;
  }
  return 0;
}

}  // namespace

struct AudioReader::Impl {
  fs::path path;
  OpenFile f;
  int channels = 0;       // returned
  bool exact = false;     // header length is exact
  sf_count_t start = 0, wanted = 0, expected = 0, got = 0;
  std::vector<float> block;
  bool ended = false;
  sf_count_t block_frames = kBlockFrames;  // per sf_readf_float call
};

AudioReader::AudioReader(const fs::path& path, double start_seconds, double duration_seconds, int max_channels)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.path = path;
  m.f = open_for_read(path);
  SNDFILE* sf = m.f.file.get();
  const int rate = m.f.info.samplerate;
  m.channels = max_channels > 0 ? std::min(max_channels, m.f.info.channels) : m.f.info.channels;
  m.exact = header_length_is_exact(m.f.info);

  // Integer data is normalised by 1/2^(bits-1) into [-1, 1) (SFC_SET_NORM_FLOAT, libsndfile's default,
  // set explicitly here); float data passes through unscaled. SFC_SET_SCALE_FLOAT_INT_READ only affects
  // reading float files through the short/int API, which we never use, so it stays off.
  sf_command(sf, SFC_SET_NORM_FLOAT, nullptr, SF_TRUE);

  if (!std::isfinite(start_seconds) || start_seconds < 0) fail(path, "start must be a finite time >= 0");
  if (std::isnan(duration_seconds)) fail(path, "duration is not a number");
  // Beyond this a frame count overflows; no audio file is that long.
  constexpr double kMaxSeconds = 1e8;
  if (start_seconds > kMaxSeconds) fail(path, "start " + seconds_text(start_seconds) + " is beyond any audio file");
  if (duration_seconds > kMaxSeconds) duration_seconds = -1;  // to the end
  m.start = static_cast<sf_count_t>(std::llround(start_seconds * rate));
  m.wanted = std::numeric_limits<sf_count_t>::max();  // frames to read: to the end
  if (duration_seconds >= 0) {
    if (!std::isfinite(duration_seconds)) fail(path, "duration must be finite (use < 0 for 'to the end')");
    m.wanted = static_cast<sf_count_t>(std::llround(duration_seconds * rate));
    if (m.wanted == 0) fail(path, "requested window of " + seconds_text(duration_seconds) + " holds no frames");
  }
  const int file_channels = m.f.info.channels;
  m.block_frames = block_frames_for(file_channels);
  m.block.resize(static_cast<std::size_t>(m.block_frames) * static_cast<std::size_t>(file_channels));
  if (m.start > 0) {
    if (m.exact) {
      if (m.start >= m.f.info.frames)
        fail(path, "start " + seconds_text(start_seconds) + " is at or beyond the end (" +
                       seconds_text(static_cast<double>(m.f.info.frames) / rate) + ")");
      if (sf_seek(sf, m.start, SEEK_SET) != m.start)
        fail(path, "cannot seek to " + seconds_text(start_seconds) + ": " + one_line(sf_strerror(sf)));
    } else {
      // libsndfile 1.2.0 seeks in MP3 and Ogg Vorbis land on the right frame number but decode
      // wrong samples for up to a few thousand frames afterwards; decoding and discarding is exact.
      for (sf_count_t skipped = 0; skipped < m.start;) {
        const sf_count_t n = sf_readf_float(sf, m.block.data(), std::min(m.block_frames, m.start - skipped));
        if (n <= 0) {
          if (sf_error(sf) != SF_ERR_NO_ERROR)
            fail(path, "decoding failed after " + std::to_string(skipped) + " frames: " + one_line(sf_strerror(sf)));
          fail(path, "start " + seconds_text(start_seconds) + " is at or beyond the end (" +
                         seconds_text(static_cast<double>(skipped) / rate) + ")");
        }
        skipped += n;
      }
    }
  }
  // Frames the header promises in the window; only a hint for inexact formats.
  const bool known = m.f.info.frames > 0 && m.f.info.frames != SF_COUNT_MAX;
  m.expected = known ? std::min(m.wanted, m.f.info.frames - m.start) : m.wanted;
}

AudioReader::~AudioReader() = default;
AudioReader::AudioReader(AudioReader&&) noexcept = default;
AudioReader& AudioReader::operator=(AudioReader&&) noexcept = default;
int AudioReader::sample_rate() const { return impl_->f.info.samplerate; }
int AudioReader::channels() const { return impl_->channels; }
int AudioReader::file_channels() const { return impl_->f.info.channels; }
std::int64_t AudioReader::exact_frames() const { return impl_->exact ? impl_->expected : -1; }
std::int64_t AudioReader::frames_hint() const {
  return impl_->expected == std::numeric_limits<sf_count_t>::max() ? -1 : impl_->expected;
}
std::int64_t AudioReader::frames_read() const { return impl_->got; }
const fs::path& AudioReader::path() const { return impl_->path; }

std::int64_t AudioReader::read(float* planar, std::int64_t max_frames, std::int64_t stride) {
  Impl& m = *impl_;
  if (m.ended || max_frames <= 0) return 0;
  SNDFILE* sf = m.f.file.get();
  const int file_channels = m.f.info.channels;
  std::int64_t done = 0;
  while (done < max_frames && m.got < m.wanted) {
    const sf_count_t n =
        sf_readf_float(sf, m.block.data(), std::min({m.block_frames, m.wanted - m.got, max_frames - done}));
    if (n <= 0) break;
    for (int c = 0; c < m.channels; ++c) {
      float* dst = planar + static_cast<std::size_t>(c) * static_cast<std::size_t>(stride) + done;
      const float* src = m.block.data() + c;
      for (sf_count_t i = 0; i < n; ++i) dst[i] = src[i * file_channels];
    }
    m.got += n;
    done += n;
  }
  if (done == max_frames) return done;
  // The end of the window (or of the file): check what decoded against what the header promised.
  m.ended = true;
  if (sf_error(sf) != SF_ERR_NO_ERROR)
    fail(m.path, "decoding failed after " + std::to_string(m.start + m.got) + " frames: " + one_line(sf_strerror(sf)));
  if (m.exact && m.got < m.expected)
    fail(m.path, "truncated: header says " + std::to_string(m.f.info.frames) + " frames, read " +
                     std::to_string(m.start + m.got));
  if (m.got == 0) {
    if (m.start > 0) fail(m.path, "start " + seconds_text(static_cast<double>(m.start) / m.f.info.samplerate) +
                                      " is at or beyond the end");
    fail(m.path, "contains no audio frames");
  }
  return done;
}

std::int64_t count_frames(const fs::path& path, double start_seconds, double duration_seconds) {
  AudioReader reader(path, start_seconds, duration_seconds);
  if (reader.exact_frames() >= 0) return reader.exact_frames();
  std::vector<float> buf(static_cast<std::size_t>(kBlockFrames) * static_cast<std::size_t>(reader.channels()));
  while (reader.read(buf.data(), kBlockFrames, kBlockFrames) > 0) {
  }
  return reader.frames_read();
}

Audio read_audio(const fs::path& path, double start_seconds, double duration_seconds) {
  AudioReader reader(path, start_seconds, duration_seconds);
  const int channels = reader.channels();
  // A corrupt header claiming billions of frames must not trigger a huge allocation up front, and a
  // stream of unknown length starts small; the buffer grows as data arrives.
  const std::int64_t hint = reader.frames_hint();
  // The bound is on samples, not frames: a header may also claim up to 1024 channels.
  const sf_count_t max_initial = std::max<sf_count_t>(1, kMaxInitialFrames / channels);
  sf_count_t cap =
      hint > 0 ? std::clamp<sf_count_t>(hint, 1, max_initial) : std::min(kUnknownInitialFrames, max_initial);
  std::vector<float> planar(static_cast<std::size_t>(channels) * static_cast<std::size_t>(cap));
  std::vector<float> spill(static_cast<std::size_t>(kBlockFrames) * static_cast<std::size_t>(channels));
  sf_count_t got = 0;
  for (;;) {
    if (got < cap) {
      const std::int64_t n = reader.read(planar.data() + got, std::min(kBlockFrames, cap - got), cap);
      if (n <= 0) break;
      got += n;
      continue;
    }
    // Full: grow only when more data actually arrives.
    const std::int64_t n = reader.read(spill.data(), kBlockFrames, kBlockFrames);
    if (n <= 0) break;
    const sf_count_t new_cap = std::max(got + n, cap * 2);
    relayout(planar, channels, cap, new_cap, got);
    cap = new_cap;
    for (int c = 0; c < channels; ++c)
      std::copy_n(spill.data() + static_cast<std::size_t>(c) * kBlockFrames, n,
                  planar.data() + static_cast<std::size_t>(c) * static_cast<std::size_t>(cap) + got);
    got += n;
  }
  if (got != cap) relayout(planar, channels, cap, got, got);

  Audio out;
  out.sample_rate = reader.sample_rate();
  out.channels = channels;
  out.frames = got;
  out.samples = std::move(planar);
  return out;
}

AudioInfo probe_audio(const fs::path& path) {
  OpenFile f = open_for_read(path);
  AudioInfo info;
  info.sample_rate = f.info.samplerate;
  info.channels = f.info.channels;
  info.frames = f.info.frames == SF_COUNT_MAX ? -1 : f.info.frames;
  info.format = format_name(f.info.format);
  return info;
}

namespace {

std::string lower_extension(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return ext;
}

constexpr std::array<std::pair<int, std::string AudioTags::*>, 7> kTagFields{{
    {SF_STR_TITLE, &AudioTags::title},
    {SF_STR_ARTIST, &AudioTags::artist},
    {SF_STR_ALBUM, &AudioTags::album},
    {SF_STR_DATE, &AudioTags::date},
    {SF_STR_GENRE, &AudioTags::genre},
    {SF_STR_COMMENT, &AudioTags::comment},
    {SF_STR_TRACKNUMBER, &AudioTags::tracknumber},
}};

// Opus encodes at these rates only; other rates are converted to 48 kHz on the way in.
bool opus_rate(int rate) { return rate == 8000 || rate == 12000 || rate == 16000 || rate == 24000 || rate == 48000; }

}  // namespace

bool AudioTags::empty() const {
  for (const auto& field : kTagFields)
    if (!(this->*field.second).empty()) return false;
  return true;
}

AudioTags read_tags(const fs::path& path) {
  OpenFile f = open_for_read(path);
  AudioTags tags;
  for (const auto& [id, member] : kTagFields)
    if (const char* text = sf_get_string(f.file.get(), id)) tags.*member = text;
  return tags;
}

namespace {

std::string bare_extension(const std::string& ext) {
  std::string e = ext;
  if (!e.empty() && e[0] == '.') e.erase(0, 1);
  std::transform(e.begin(), e.end(), e.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return e;
}

std::string kbit(int kbps) { return std::to_string(kbps) + " kbit/s"; }

}  // namespace

bool lossy_extension(const std::string& ext) {
  const std::string e = bare_extension(ext);
  return e == "mp3" || e == "opus" || e == "ogg";
}

std::vector<int> mp3_bitrates(int sample_rate) {
  // LAME's bitrate_table (libmp3lame/tables.c); the version split is libsndfile's (mpeg_l3_encode.c).
  if (sample_rate >= 32000) return {32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320};
  if (sample_rate >= 16000) return {8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160};
  return {8, 16, 24, 32, 40, 48, 56, 64};
}

EncoderBitrate encoder_bitrate(const std::string& ext, int kbps, bool variable, int sample_rate, int channels) {
  const std::string e = bare_extension(ext);
  if (kbps <= 0) fail("bitrate", "must be a positive number of kbit/s, not " + std::to_string(kbps));
  if (channels < 1) fail("bitrate", "audio has no channels");
  EncoderBitrate b;
  b.kbps = kbps;
  if (e == "mp3") {
    const std::vector<int> table = mp3_bitrates(sample_rate);
    const std::string where = "mp3 at " + std::to_string(sample_rate) + " Hz";
    if (variable) {
      if (kbps < table.front() || kbps > table.back()) {
        b.kbps = std::clamp(kbps, table.front(), table.back());
        b.note = where + " averages " + kbit(table.front()) + " to " + kbit(table.back()) + "; writing " + kbit(b.kbps);
      }
    } else {
      b.kbps = table.front();
      for (int r : table)
        if (std::abs(r - kbps) < std::abs(b.kbps - kbps)) b.kbps = r;
      if (b.kbps != kbps) {
        std::string rates;
        for (int r : table) rates += (rates.empty() ? "" : ", ") + std::to_string(r);
        b.note = where + " has no constant " + kbit(kbps) + " (only " + rates + "); writing " + kbit(b.kbps);
      }
    }
    // libsndfile: bitrate = (int) (max - level * (max - min)) on [min, max] = the table's ends. Half a kbit/s
    // less than kbps as the target keeps the truncation from landing one below it in floating point.
    const double top = table.back(), span = table.back() - table.front();
    b.level = std::clamp((top - b.kbps - 0.5) / span, 0.0, 1.0);
  } else if (e == "opus") {
    constexpr int kMinPerChannel = 6000, kMaxPerChannel = 256000;  // bit/s, libsndfile's range
    const long per_channel = std::lround(1000.0 * kbps / channels);
    const long clamped = std::clamp<long>(per_channel, kMinPerChannel, kMaxPerChannel);
    b.kbps = static_cast<int>(std::lround(static_cast<double>(clamped) * channels / 1000.0));
    if (clamped != per_channel)
      b.note = "opus takes 6 to 256 kbit/s per channel (" + kbit(6 * channels) + " to " + kbit(256 * channels) +
               " for " + std::to_string(channels) + " channel" + (channels == 1 ? "" : "s") + "); writing " +
               kbit(b.kbps);
    // libsndfile: bit/s = (int) ((1 - level) * 250000 + 6000) * channels, truncated as above.
    b.level = std::clamp(1.0 - (static_cast<double>(clamped) - kMinPerChannel + 0.5) / 250000.0, 0.0, 1.0);
  } else if (e == "ogg") {
    fail("bitrate", "libsndfile's Vorbis encoder takes a quality, not a bitrate; use --quality");
  } else {
    fail("bitrate", "applies to mp3 and opus only, not ." + e);
  }
  return b;
}

float quantize(float x, SampleFormat format) {
  if (format == SampleFormat::Float32) return x;
  const double scale = std::ldexp(1.0, format == SampleFormat::Pcm16 ? 15 : 23);
  return static_cast<float>(std::clamp(std::nearbyint(x * scale), -scale, scale - 1) / scale);
}

struct AudioWriter::Impl {
  fs::path path;
  std::unique_ptr<AtomicFile> out;
  SndfilePtr file;
  int channels = 0, subtype = 0;
  bool integer = false;
  double scale = 0;
  std::int32_t align = 0;
  std::int64_t written = 0;  // frames handed to write()
  std::vector<float> fblock;
  std::vector<int> iblock;
  std::unique_ptr<StreamResampler> to_opus_rate;
  int file_rate = 0, rate = 0;
  bool closed = false;  // close() succeeded: only the rename is left

  // Interleaves, checks and hands `n` frames to libsndfile.
  void put(const float* planar, std::int64_t n, std::int64_t stride, std::int64_t first_frame) {
    const auto ch = static_cast<std::size_t>(channels);
    for (std::int64_t done = 0; done < n;) {
      const std::int64_t k = std::min<std::int64_t>(n - done, kBlockFrames);
      for (std::size_t c = 0; c < ch; ++c) {
        const float* src = planar + c * static_cast<std::size_t>(stride) + done;
        for (std::int64_t i = 0; i < k; ++i) {
          // Checked while writing: a bad sample aborts and the AtomicFile removes the temporary file.
          if (!std::isfinite(src[i]))
            fail(path, "sample is not finite (channel " + std::to_string(c) + ", frame " +
                           std::to_string(first_frame + done + i) + ")");
          if (integer)
            // We quantise ourselves and hand libsndfile left-aligned 32-bit codes (which it shifts down
            // exactly). Its own float paths differ per container: with SFC_SET_CLIPPING, WAV truncates
            // (x * 2^31) >> 16 (floor) while FLAC rounds; without it both scale by 2^(bits-1) - 1 and wrap
            // around out of range. Round-to-nearest at 2^(bits-1), saturated, is the exact inverse of the
            // read normalisation, so a round trip is off by at most half a step in every container.
            iblock[static_cast<std::size_t>(i) * ch + c] =
                static_cast<int>(std::clamp(std::nearbyint(src[i] * scale), -scale, scale - 1)) * align;
          else
            fblock[static_cast<std::size_t>(i) * ch + c] = src[i];
        }
      }
      const sf_count_t got = integer ? sf_writef_int(file.get(), iblock.data(), k)
                                     : sf_writef_float(file.get(), fblock.data(), k);
      if (got != k) fail(path, "write failed: " + one_line(sf_strerror(file.get())));
      done += k;
    }
  }
};

AudioWriter::AudioWriter(const fs::path& path, int sample_rate, int channels, const WriteOptions& options,
                         std::int64_t expected_frames)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.path = path;
  const std::string ext = lower_extension(path);
  const SampleFormat format = options.format;
  int major = 0, subtype = 0;
  if (ext == ".wav") {
    major = SF_FORMAT_WAV;
    subtype = subtype_for(format);
  } else if (ext == ".flac") {
    major = SF_FORMAT_FLAC;
    if (format == SampleFormat::Float32) fail(path, "FLAC stores 16 or 24 bit integers only; use .wav for float32");
    subtype = subtype_for(format);
  } else if (ext == ".mp3") {
    major = SF_FORMAT_MPEG;
    subtype = SF_FORMAT_MPEG_LAYER_III;
  } else if (ext == ".opus") {
    major = SF_FORMAT_OGG;
    subtype = SF_FORMAT_OPUS;
  } else if (ext == ".ogg") {
    major = SF_FORMAT_OGG;
    subtype = SF_FORMAT_VORBIS;
  } else {
    fail(path, "unsupported output extension '" + ext + "' (use .wav, .flac, .mp3, .opus or .ogg)");
  }
  if (channels < 1) fail(path, "audio has no channels");
  if (sample_rate < 1) fail(path, "audio has no sample rate");
  if (options.quality > 1) fail(path, "quality must be in [0, 1]");
  if (options.kbps < 0) fail(path, "bitrate must be a positive number of kbit/s");
  if (options.kbps != 0 && options.quality >= 0) fail(path, "give a bitrate or a quality, not both");
  if (options.kbps != 0 && subtype != SF_FORMAT_MPEG_LAYER_III && subtype != SF_FORMAT_OPUS)
    fail(path, subtype == SF_FORMAT_VORBIS ? "libsndfile's Vorbis encoder takes a quality, not a bitrate"
                                           : "a bitrate applies to .mp3 and .opus only");
  const double level =
      options.kbps != 0 ? encoder_bitrate(ext, options.kbps, options.variable, sample_rate, channels).level : options.quality;
  if (major == SF_FORMAT_WAV && expected_frames > 0) {
    const std::uint64_t bytes_per_sample = subtype == SF_FORMAT_PCM_16 ? 2 : subtype == SF_FORMAT_PCM_24 ? 3 : 4;
    if (bytes_per_sample * static_cast<std::uint64_t>(channels) * static_cast<std::uint64_t>(expected_frames) >
        0xFFFFFFFFull - 1024)
      fail(path, "too long for a WAV file (4 GiB limit); use .flac");
  }
  m.channels = channels;
  m.subtype = subtype;
  m.rate = sample_rate;
  m.file_rate = sample_rate;
  if (subtype == SF_FORMAT_OPUS && !opus_rate(sample_rate)) {
    m.file_rate = 48000;
    m.to_opus_rate = std::make_unique<StreamResampler>(channels, sample_rate, 48000);
  }

  SF_INFO info{};
  info.samplerate = m.file_rate;
  info.channels = channels;
  info.format = major | subtype;
  if (!sf_format_check(&info)) fail(path, "libsndfile cannot write " + format_name(info.format) + " with these settings");

  m.out = std::make_unique<AtomicFile>(path);
  m.file.reset(sf_open(m.out->temp_path().c_str(), SFM_WRITE, &info));
  if (!m.file) fail(path, "cannot create temporary output file: " + one_line(sf_strerror(nullptr)));
  SNDFILE* sf = m.file.get();
  // No PEAK chunk: it carries a time stamp, so identical audio would give different files.
  sf_command(sf, SFC_SET_ADD_PEAK_CHUNK, nullptr, SF_FALSE);
  // Strings and encoder settings go before the first sample (the Ogg and MPEG headers are written then).
  for (const auto& [id, member] : kTagFields) {
    const std::string& text = options.tags.*member;
    if (!text.empty()) sf_set_string(sf, id, text.c_str());  // containers without the field ignore it
  }
  if (major == SF_FORMAT_MPEG) {
    // libsndfile 1.2.0 answers 0 whatever happens here; the Opus encoder ignores the mode, so only MP3 gets it.
    // A bitrate without CBR is LAME's average bitrate (ABR): in VBR the level would be read as a quality.
    int mode = !options.variable ? SF_BITRATE_MODE_CONSTANT
               : options.kbps != 0 ? SF_BITRATE_MODE_AVERAGE : SF_BITRATE_MODE_VARIABLE;
    sf_command(sf, SFC_SET_BITRATE_MODE, &mode, sizeof(mode));
  }
  const bool lossy = major == SF_FORMAT_MPEG || major == SF_FORMAT_OGG;
  if (level >= 0 && (lossy || major == SF_FORMAT_FLAC)) {
    double set = level;
    if (sf_command(sf, SFC_SET_COMPRESSION_LEVEL, &set, sizeof(set)) != SF_TRUE)
      fail(path, options.kbps != 0 ? "the encoder refused " + kbit(options.kbps)
                                   : std::string("the encoder does not take a quality / compression level"));
  }
  m.integer = subtype == SF_FORMAT_PCM_16 || subtype == SF_FORMAT_PCM_24;
  if (m.integer) {
    const int bits = subtype == SF_FORMAT_PCM_16 ? 16 : 24;
    m.scale = std::ldexp(1.0, bits - 1);
    m.align = std::int32_t{1} << (32 - bits);
    m.iblock.resize(static_cast<std::size_t>(kBlockFrames) * static_cast<std::size_t>(channels));
  } else {
    m.fblock.resize(static_cast<std::size_t>(kBlockFrames) * static_cast<std::size_t>(channels));
  }
}

AudioWriter::~AudioWriter() = default;
AudioWriter::AudioWriter(AudioWriter&&) noexcept = default;
AudioWriter& AudioWriter::operator=(AudioWriter&&) noexcept = default;
std::int64_t AudioWriter::frames_written() const { return impl_->written; }
const fs::path& AudioWriter::path() const { return impl_->path; }

void AudioWriter::write(const float* planar, std::int64_t frames, std::int64_t stride) {
  Impl& m = *impl_;
  if (!m.file) fail(m.path, "already closed");
  if (frames <= 0) return;
  if (m.to_opus_rate) {
    // Checked on the input, so the frame numbers in an error are the caller's.
    for (int c = 0; c < m.channels; ++c)
      for (std::int64_t i = 0; i < frames; ++i)
        if (!std::isfinite(planar[static_cast<std::size_t>(c) * static_cast<std::size_t>(stride) + i]))
          fail(m.path, "sample is not finite (channel " + std::to_string(c) + ", frame " + std::to_string(m.written + i) + ")");
    m.to_opus_rate->push(planar, frames, stride);
    const std::int64_t n = m.to_opus_rate->available();
    if (n > 0) {
      std::vector<float> tmp(static_cast<std::size_t>(n) * static_cast<std::size_t>(m.channels));
      for (int c = 0; c < m.channels; ++c) std::copy_n(m.to_opus_rate->output(c), n, tmp.data() + static_cast<std::size_t>(c) * n);
      m.put(tmp.data(), n, n, 0);
      m.to_opus_rate->consume(n);
    }
  } else {
    m.put(planar, frames, stride, m.written);
  }
  m.written += frames;
}

void AudioWriter::close() {
  Impl& m = *impl_;
  if (m.closed) return;
  if (!m.file) fail(m.path, "already closed");
  // A 0-frame file is refused: read_audio rejects empty files, so writing one would only defer the error.
  if (m.written <= 0) fail(m.path, "nothing to write: audio has 0 frames");
  if (m.to_opus_rate) {
    m.to_opus_rate->finish((m.written * m.file_rate + m.rate / 2) / m.rate);
    const std::int64_t n = m.to_opus_rate->available();
    std::vector<float> tmp(static_cast<std::size_t>(n) * static_cast<std::size_t>(m.channels));
    for (int c = 0; c < m.channels; ++c) std::copy_n(m.to_opus_rate->output(c), n, tmp.data() + static_cast<std::size_t>(c) * n);
    if (n > 0) m.put(tmp.data(), n, n, 0);
    m.to_opus_rate->consume(n);
  }
  const int rc = sf_close(m.file.release());
  if (rc != 0) fail(m.path, "closing the output failed: " + one_line(sf_error_number(rc)));
  m.out->sync();
  m.closed = true;
}

void AudioWriter::commit() {
  close();
  impl_->out->commit();
}

void write_audio(const fs::path& path, const Audio& audio, SampleFormat format) {
  const auto channels = static_cast<std::size_t>(std::max(audio.channels, 0));
  const auto frames = static_cast<std::size_t>(std::max<std::int64_t>(audio.frames, 0));
  if (audio.frames <= 0 && audio.channels >= 1 && audio.sample_rate >= 1)
    fail(path, "nothing to write: audio has 0 frames");
  if (audio.samples.size() != channels * frames)
    fail(path, "audio buffer holds " + std::to_string(audio.samples.size()) + " samples, expected " +
                   std::to_string(channels * frames));
  WriteOptions options;
  options.format = format;
  AudioWriter writer(path, audio.sample_rate, audio.channels, options, audio.frames);
  writer.write(audio.samples.data(), audio.frames, audio.frames);
  writer.commit();
}

}  // namespace unmix
