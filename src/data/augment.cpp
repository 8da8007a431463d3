// Input augmentations: names and lists, the per-item chain, the mono fold and the EQ tilt. The resample and
// codec round trips have their own files.
#include "unmix/data/augment.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <complex>
#include <numbers>

#include "unmix/error.h"

namespace unmix::data {

namespace {

constexpr std::array<Codec, 3> kCodecs = {Codec::Mp3, Codec::Vorbis, Codec::Opus};

// Comma-separated, surrounding spaces ignored; an empty list or an empty entry is an error.
std::vector<std::string_view> split_list(std::string_view list, const std::string& where) {
  std::vector<std::string_view> out;
  std::size_t from = 0;
  for (;;) {
    const std::size_t comma = list.find(',', from);
    std::string_view item = list.substr(from, comma == std::string_view::npos ? std::string_view::npos : comma - from);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.empty()) fail(where, "'" + std::string(list) + "' has an empty entry (a comma-separated list)");
    out.push_back(item);
    if (comma == std::string_view::npos) return out;
    from = comma + 1;
  }
}

// ---- EQ tilt ----

// One first-order shelf, y[n] = b0 x[n] + b1 x[n-1] - a1 y[n-1]: the bilinear transform of (s + wz) / (s + wp)
// with both corners prewarped. Two lines of filter math, so no DSP library.
struct Shelf {
  double b0 = 1, b1 = 0, a1 = 0;
};

Shelf shelf(double zero_hz, double pole_hz, int sample_rate) {
  const double k = 2.0 * sample_rate;
  const auto warp = [&](double f) {
    return k * std::tan(std::numbers::pi * std::min(f, 0.49 * sample_rate) / sample_rate);
  };
  const double wz = warp(zero_hz), wp = warp(pole_hz);
  return {(k + wz) / (k + wp), (wz - k) / (k + wp), (wp - k) / (k + wp)};
}

// A constant slope needs the shelves spread over the band: each one adds |slope| x 2 dB over its own two
// octaves, rising (zero below pole) or falling (pole below zero). A single shelf pair would put all of the
// change around its two corners. The chain is scaled to 0 dB at the 1 kHz pivot.
constexpr double kPivotHz = 1000.0, kShelfSpacingOctaves = 2.0;
constexpr int kShelvesEachSide = 2;  // 62.5, 250, 1000, 4000, 16000 Hz
constexpr int kMaxShelves = 2 * kShelvesEachSide + 1;

struct TiltChain {
  std::array<Shelf, kMaxShelves> shelves{};  // unused ones stay the identity {1, 0, 0}
  int count = 0;
  double gain = 1;
};

TiltChain tilt_chain(int sample_rate, double db_per_octave) {
  TiltChain chain;
  const double width = std::abs(db_per_octave) * kShelfSpacingOctaves / (20.0 * std::log10(2.0));  // octaves
  for (int i = -kShelvesEachSide; i <= kShelvesEachSide; ++i) {
    const double centre = kPivotHz * std::exp2(kShelfSpacingOctaves * i);
    if (centre > 0.4 * sample_rate) continue;
    const double low = centre * std::exp2(-width / 2), high = centre * std::exp2(width / 2);
    chain.shelves[static_cast<std::size_t>(chain.count++)] =
        db_per_octave > 0 ? shelf(low, high, sample_rate) : shelf(high, low, sample_rate);
  }
  const std::complex<double> z1 = std::polar(1.0, -2.0 * std::numbers::pi * kPivotHz / sample_rate);
  std::complex<double> h = 1.0;
  for (int s = 0; s < chain.count; ++s) {
    const Shelf& f = chain.shelves[static_cast<std::size_t>(s)];
    h *= (f.b0 + f.b1 * z1) / (1.0 + f.a1 * z1);
  }
  chain.gain = 1.0 / std::abs(h);
  return chain;
}

// Filters `Lanes` streams in lockstep, each from rest. Fixed sizes let the compiler keep every shelf's state in
// registers and vectorize across the lanes; the shelves' recurrences then overlap from one frame to the next.
template <int Lanes>
void tilt_lanes(const TiltChain& chain, float* const* streams, std::int64_t frames) {
  double b0[kMaxShelves], b1[kMaxShelves], a1[kMaxShelves];
  for (int s = 0; s < kMaxShelves; ++s) {
    const Shelf& f = chain.shelves[static_cast<std::size_t>(s)];  // left-out shelves are the identity
    b0[s] = f.b0;
    b1[s] = f.b1;
    a1[s] = f.a1;
  }
  double x1[kMaxShelves][Lanes] = {}, y1[kMaxShelves][Lanes] = {};
  for (std::int64_t n = 0; n < frames; ++n) {
    double v[Lanes];
    for (int l = 0; l < Lanes; ++l) v[l] = chain.gain * streams[l][n];
    for (int s = 0; s < kMaxShelves; ++s)
      for (int l = 0; l < Lanes; ++l) {
        const double y = b0[s] * v[l] + b1[s] * x1[s][l] - a1[s] * y1[s][l];
        x1[s][l] = v[l];
        y1[s][l] = y;
        v[l] = y;
      }
    for (int l = 0; l < Lanes; ++l) streams[l][n] = static_cast<float>(v[l]);
  }
}

void tilt_streams(const TiltChain& chain, float* const* streams, int count, std::int64_t frames) {
  for (; count >= 4; count -= 4, streams += 4) tilt_lanes<4>(chain, streams, frames);
  if (count == 3) tilt_lanes<3>(chain, streams, frames);
  if (count == 2) tilt_lanes<2>(chain, streams, frames);
  if (count == 1) tilt_lanes<1>(chain, streams, frames);
}

}  // namespace

std::string_view codec_name(Codec codec) {
  switch (codec) {
    case Codec::None: return "none";
    case Codec::Mp3: return "mp3";
    case Codec::Vorbis: return "vorbis";
    case Codec::Opus: return "opus";
  }
  return "none";
}

std::vector<Codec> parse_codecs(std::string_view list, const std::string& where) {
  std::vector<Codec> out;
  for (std::string_view name : split_list(list, where)) {
    const auto it = std::find_if(kCodecs.begin(), kCodecs.end(), [&](Codec c) { return codec_name(c) == name; });
    if (it == kCodecs.end()) fail(where, "unknown codec '" + std::string(name) + "' (mp3, vorbis or opus)");
    if (std::find(out.begin(), out.end(), *it) != out.end())
      fail(where, "codec '" + std::string(name) + "' is listed twice");
    out.push_back(*it);
  }
  return out;
}

std::string codecs_text(const std::vector<Codec>& codecs) {
  std::string out;
  for (Codec c : codecs) out += (out.empty() ? "" : ",") + std::string(codec_name(c));
  return out;
}

std::vector<int> parse_rates(std::string_view list, const std::string& where) {
  std::vector<int> out;
  for (std::string_view item : split_list(list, where)) {
    int rate = 0;
    const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), rate);
    if (ec != std::errc() || end != item.data() + item.size() || rate <= 0)
      fail(where, "'" + std::string(item) + "' is not a sample rate in Hz");
    if (std::find(out.begin(), out.end(), rate) != out.end())
      fail(where, "rate " + std::string(item) + " is listed twice");
    out.push_back(rate);
  }
  return out;
}

std::string rates_text(const std::vector<int>& rates) {
  std::string out;
  for (int r : rates) out += (out.empty() ? "" : ",") + std::to_string(r);
  return out;
}

void fold_to_mono(float* planar, int channels, std::int64_t stride, std::int64_t frames) {
  if (channels < 2) return;
  float* l = planar;
  float* r = planar + stride;
  for (std::int64_t i = 0; i < frames; ++i) l[i] = r[i] = 0.5f * (l[i] + r[i]);
  for (int c = 2; c < channels; ++c) std::copy_n(l, frames, planar + c * stride);
}

void apply_tilt(float* planar, int channels, std::int64_t stride, std::int64_t frames, int sample_rate,
                double db_per_octave) {
  if (db_per_octave == 0) return;
  std::vector<float*> streams;
  for (int c = 0; c < channels; ++c) streams.push_back(planar + c * stride);
  tilt_streams(tilt_chain(sample_rate, db_per_octave), streams.data(), channels, frames);
}

void apply_augmentation(const ItemAugmentation& a, float* mix, float* target, int channels, std::int64_t stride,
                        std::int64_t frames, int sample_rate) {
  if (a.mono) {
    fold_to_mono(mix, channels, stride, frames);
    fold_to_mono(target, channels, stride, frames);
  }
  if (a.tilt_db_per_octave != 0) {
    // Mix and target through the same filter in one pass.
    std::vector<float*> streams;
    for (int c = 0; c < channels; ++c) streams.push_back(mix + c * stride);
    for (int c = 0; c < channels; ++c) streams.push_back(target + c * stride);
    tilt_streams(tilt_chain(sample_rate, a.tilt_db_per_octave), streams.data(), static_cast<int>(streams.size()),
                 frames);
  }
  // The target stays clean: the model learns to undo what the rate conversion and the codec did to the mix.
  if (a.resample_rate != 0) resample_round_trip(mix, channels, stride, frames, sample_rate, a.resample_rate);
  if (a.codec != Codec::None) codec_round_trip(mix, channels, stride, frames, sample_rate, a.codec, a.codec_kbps);
}

}  // namespace unmix::data
