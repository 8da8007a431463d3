// Audio file reading, probing and writing through libsndfile.
#include <sndfile.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
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

// Interleaves `audio`, converts each sample and writes it in blocks (sf_writef_float / sf_writef_int).
template <typename T, typename Convert>
void write_blocks(SNDFILE* sf, const fs::path& path, const Audio& audio, Convert convert) {
  const auto channels = static_cast<std::size_t>(audio.channels);
  const auto frames = static_cast<std::size_t>(audio.frames);
  std::vector<T> block(static_cast<std::size_t>(kBlockFrames) * channels);
  for (std::size_t done = 0; done < frames;) {
    const std::size_t n = std::min(frames - done, static_cast<std::size_t>(kBlockFrames));
    for (std::size_t c = 0; c < channels; ++c) {
      const float* src = audio.samples.data() + c * frames + done;
      for (std::size_t i = 0; i < n; ++i) {
        // Checked while writing, so a bad sample aborts after the temporary file exists; the
        // AtomicFile then removes it.
        if (!std::isfinite(src[i]))
          fail(path, "sample is not finite (channel " + std::to_string(c) + ", frame " + std::to_string(done + i) + ")");
        block[i * channels + c] = convert(src[i]);
      }
    }
    sf_count_t written = 0;
    if constexpr (std::is_same_v<T, float>) {
      written = sf_writef_float(sf, block.data(), static_cast<sf_count_t>(n));
    } else {
      written = sf_writef_int(sf, block.data(), static_cast<sf_count_t>(n));
    }
    if (written != static_cast<sf_count_t>(n)) fail(path, "write failed: " + one_line(sf_strerror(sf)));
    done += n;
  }
}

}  // namespace

Audio read_audio(const fs::path& path, double start_seconds, double duration_seconds) {
  OpenFile f = open_for_read(path);
  SNDFILE* sf = f.file.get();
  const int channels = f.info.channels;
  const int rate = f.info.samplerate;
  const bool exact = header_length_is_exact(f.info);
  // Decode blocks of at most 2^19 samples: a header may claim up to 1024 channels.
  const sf_count_t block_frames = std::clamp<sf_count_t>(kBlockFrames * 8 / channels, 256, kBlockFrames);

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
  const auto start = static_cast<sf_count_t>(std::llround(start_seconds * rate));
  sf_count_t wanted = std::numeric_limits<sf_count_t>::max();  // frames to read: to the end
  if (duration_seconds >= 0) {
    if (!std::isfinite(duration_seconds)) fail(path, "duration must be finite (use < 0 for 'to the end')");
    wanted = static_cast<sf_count_t>(std::llround(duration_seconds * rate));
    if (wanted == 0) fail(path, "requested window of " + seconds_text(duration_seconds) + " holds no frames");
  }
  if (start > 0) {
    if (exact) {
      if (start >= f.info.frames)
        fail(path, "start " + seconds_text(start_seconds) + " is at or beyond the end (" +
                       seconds_text(static_cast<double>(f.info.frames) / rate) + ")");
      if (sf_seek(sf, start, SEEK_SET) != start)
        fail(path, "cannot seek to " + seconds_text(start_seconds) + ": " + one_line(sf_strerror(sf)));
    } else {
      // libsndfile 1.2.0 seeks in MP3 and Ogg Vorbis land on the right frame number but decode
      // wrong samples for up to a few thousand frames afterwards; decoding and discarding is exact.
      std::vector<float> skip(static_cast<std::size_t>(block_frames) * static_cast<std::size_t>(channels));
      for (sf_count_t skipped = 0; skipped < start;) {
        const sf_count_t n = sf_readf_float(sf, skip.data(), std::min(block_frames, start - skipped));
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

  // Frames the header promises in the window; only a hint (and a capacity guess) for inexact formats.
  const bool known = f.info.frames > 0 && f.info.frames != SF_COUNT_MAX;
  const sf_count_t expected = known ? std::min(wanted, f.info.frames - start) : wanted;
  // The bound is on samples, not frames: a header may also claim up to 1024 channels.
  const sf_count_t max_initial = std::max<sf_count_t>(1, kMaxInitialFrames / channels);
  sf_count_t cap = known ? std::clamp<sf_count_t>(expected, 1, max_initial) : std::min(kUnknownInitialFrames, max_initial);
  std::vector<float> planar(static_cast<std::size_t>(channels) * static_cast<std::size_t>(cap));
  std::vector<float> block(static_cast<std::size_t>(block_frames) * static_cast<std::size_t>(channels));
  sf_count_t got = 0;
  while (got < wanted) {
    const sf_count_t n = sf_readf_float(sf, block.data(), std::min(block_frames, wanted - got));
    if (n <= 0) break;
    if (got + n > cap) {
      const sf_count_t new_cap = std::max(got + n, cap * 2);
      relayout(planar, channels, cap, new_cap, got);
      cap = new_cap;
    }
    for (int c = 0; c < channels; ++c) {
      float* dst = planar.data() + static_cast<std::size_t>(c) * static_cast<std::size_t>(cap) + got;
      const float* src = block.data() + c;
      for (sf_count_t i = 0; i < n; ++i) dst[i] = src[i * channels];
    }
    got += n;
  }
  if (sf_error(sf) != SF_ERR_NO_ERROR)
    fail(path, "decoding failed after " + std::to_string(start + got) + " frames: " + one_line(sf_strerror(sf)));
  if (exact && got < expected)
    fail(path, "truncated: header says " + std::to_string(f.info.frames) + " frames, read " +
                   std::to_string(start + got));
  if (got == 0) {
    if (start > 0) fail(path, "start " + seconds_text(start_seconds) + " is at or beyond the end");
    fail(path, "contains no audio frames");
  }
  if (got != cap) relayout(planar, channels, cap, got, got);

  Audio out;
  out.sample_rate = rate;
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

void write_audio(const fs::path& path, const Audio& audio, SampleFormat format) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  int major = 0;
  if (ext == ".wav") {
    major = SF_FORMAT_WAV;
  } else if (ext == ".flac") {
    major = SF_FORMAT_FLAC;
    if (format == SampleFormat::Float32) fail(path, "FLAC stores 16 or 24 bit integers only; use .wav for float32");
  } else {
    fail(path, "unsupported output extension '" + ext + "' (use .wav or .flac)");
  }
  if (audio.channels < 1) fail(path, "audio has no channels");
  if (audio.sample_rate < 1) fail(path, "audio has no sample rate");
  // A 0-frame file is refused: read_audio rejects empty files, so writing one would only defer the error.
  if (audio.frames <= 0) fail(path, "nothing to write: audio has 0 frames");
  const auto channels = static_cast<std::size_t>(audio.channels);
  const auto frames = static_cast<std::size_t>(audio.frames);
  if (audio.samples.size() != channels * frames)
    fail(path, "audio buffer holds " + std::to_string(audio.samples.size()) + " samples, expected " +
                   std::to_string(channels * frames));
  const int subtype = subtype_for(format);
  if (major == SF_FORMAT_WAV) {
    const std::uint64_t bytes_per_sample = subtype == SF_FORMAT_PCM_16 ? 2 : subtype == SF_FORMAT_PCM_24 ? 3 : 4;
    if (bytes_per_sample * channels * frames > 0xFFFFFFFFull - 1024)
      fail(path, "too long for a WAV file (4 GiB limit); use .flac");
  }

  SF_INFO info{};
  info.samplerate = audio.sample_rate;
  info.channels = audio.channels;
  info.format = major | subtype;
  if (!sf_format_check(&info)) fail(path, "libsndfile cannot write " + format_name(info.format) + " with these settings");

  AtomicFile out(path);
  SndfilePtr file(sf_open(out.temp_path().c_str(), SFM_WRITE, &info));
  if (!file) fail(path, "cannot create temporary output file: " + one_line(sf_strerror(nullptr)));
  // No PEAK chunk: it carries a time stamp, so identical audio would give different files.
  sf_command(file.get(), SFC_SET_ADD_PEAK_CHUNK, nullptr, SF_FALSE);
  if (subtype == SF_FORMAT_FLOAT) {
    write_blocks<float>(file.get(), path, audio, [](float x) { return x; });
  } else {
    // We quantise ourselves and hand libsndfile left-aligned 32-bit codes (which it shifts down
    // exactly). Its own float paths differ per container: with SFC_SET_CLIPPING, WAV truncates
    // (x * 2^31) >> 16 (floor) while FLAC rounds; without it both scale by 2^(bits-1) - 1 and wrap
    // around out of range. Round-to-nearest at 2^(bits-1), saturated, is the exact inverse of the
    // read normalisation, so a round trip is off by at most half a step in every container.
    const int bits = subtype == SF_FORMAT_PCM_16 ? 16 : 24;
    const double scale = std::ldexp(1.0, bits - 1);
    const std::int32_t align = std::int32_t{1} << (32 - bits);
    write_blocks<int>(file.get(), path, audio, [=](float x) {
      return static_cast<int>(std::clamp(std::nearbyint(x * scale), -scale, scale - 1)) * align;
    });
  }
  const int rc = sf_close(file.release());
  if (rc != 0) fail(path, "closing the output failed: " + one_line(sf_error_number(rc)));
  out.commit();
}

}  // namespace unmix
