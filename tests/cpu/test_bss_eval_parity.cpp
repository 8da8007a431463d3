// BSSEval against museval 0.4 (tests/fixtures/museval_parity.safetensors, from scripts/make_museval_fixtures.py):
// every per-frame SDR/ISR/SIR/SAR within 0.01 dB, NaN and infinities exactly where museval has them.
// The signals are regenerated here from each case's integer recipe, bit for bit as the script makes them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <cstdint>
#include <sstream>

#include "test_support.h"
#include "unmix/eval/bss_eval.h"
#include "unmix/safetensors.h"

using namespace unmix;

namespace {

constexpr double kToleranceDb = 0.01;

using Signal = std::vector<std::vector<std::int64_t>>;  // [channel][sample], int16 codes

std::vector<std::int64_t> tensor_i64(const safetensors::File& f, const std::string& name) {
  const auto* t = f.find(name);
  if (!t) throw std::runtime_error("fixture tensor missing: " + name);
  return safetensors::as_i64(*t);
}

std::vector<double> tensor_f64(const safetensors::File& f, const std::string& name) {
  const auto* t = f.find(name);
  if (!t || t->dtype != safetensors::DType::F64) throw std::runtime_error("fixture F64 tensor missing: " + name);
  std::vector<double> v(t->numel());
  std::memcpy(v.data(), t->data.data(), v.size() * sizeof(double));
  return v;
}

// ---- the integer recipe of scripts/make_museval_fixtures.py
std::vector<std::int64_t> noise16(std::int64_t seed, std::int64_t count) {
  std::vector<std::int64_t> out(static_cast<std::size_t>(count));
  for (std::int64_t n = 0; n < count; ++n) {
    std::uint64_t z = (static_cast<std::uint64_t>(seed) << 32) + static_cast<std::uint64_t>(n);
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    out[n] = static_cast<std::int64_t>(z >> 48) - 32768;
  }
  return out;
}

std::vector<std::int64_t> one_pole(const std::vector<std::int64_t>& x, std::int64_t shift) {
  if (shift == 0) return x;
  std::vector<std::int64_t> y(x.size());
  std::int64_t acc = 0;
  for (std::size_t n = 0; n < x.size(); ++n) {
    acc += (x[n] - acc) >> shift;  // arithmetic shift = floor, as Python's >>
    y[n] = acc;
  }
  return y;
}

std::int64_t triangle(std::int64_t inc, std::int64_t n) {
  const std::int64_t phase = (n * inc) & 0xFFFFFFFF;
  const std::int64_t saw = (phase >> 16) - 32768;
  return 2 * std::abs(saw) - 32768;
}

std::int64_t clip16(std::int64_t v) { return std::clamp<std::int64_t>(v, -32768, 32767); }

void apply_silences(Signal& sig, const std::vector<std::int64_t>& rows) {
  for (std::size_t r = 0; r + 2 < rows.size(); r += 3)
    for (std::size_t c = 0; c < sig.size(); ++c)
      if (rows[r + 2] < 0 || static_cast<std::size_t>(rows[r + 2]) == c)
        std::fill(sig[c].begin() + rows[r], sig[c].begin() + rows[r + 1], 0);
}

Signal make_reference(const safetensors::File& f, const std::string& key, std::int64_t length, int channels) {
  const auto p = tensor_i64(f, key + "/params");
  const std::int64_t seed = p[0], noise_shift = p[1], noise_gain = p[2], tone_inc = p[3], tone_gain = p[4],
                     env_inc = p[5];
  auto noise = one_pole(noise16(seed, length), noise_shift);
  std::vector<std::int64_t> mono(static_cast<std::size_t>(length));
  for (std::int64_t n = 0; n < length; ++n) {
    std::int64_t v = (noise[n] * noise_gain) >> 15;
    if (tone_inc) v += (triangle(tone_inc, n) * tone_gain) >> 15;
    v = clip16(v);
    if (env_inc) v = (v * (49152 + (triangle(env_inc, n) >> 1))) >> 16;
    mono[n] = v;
  }
  Signal sig(static_cast<std::size_t>(channels));
  for (int c = 0; c < channels; ++c) {
    sig[c].resize(static_cast<std::size_t>(length));
    for (std::int64_t n = 0; n < length; ++n) sig[c][n] = (mono[n] * p[6 + c]) >> 15;
  }
  const auto anti = tensor_i64(f, key + "/antiphase");
  for (std::size_t r = 0; r + 1 < anti.size(); r += 2)
    for (std::int64_t n = anti[r]; n < anti[r + 1]; ++n) sig[1][n] = -sig[0][n];
  apply_silences(sig, tensor_i64(f, key + "/silent"));
  return sig;
}

Signal make_estimate(const safetensors::File& f, const std::string& key, const std::vector<Signal>& refs) {
  const auto p = tensor_i64(f, key + "/params");
  const std::int64_t seed = p[0], noise_gain = p[1], smooth_shift = p[2], cross_gain = p[3], delay = p[4];
  const auto gains = tensor_i64(f, key + "/mix");
  const std::size_t channels = refs[0].size(), length = refs[0][0].size();
  Signal mix(channels, std::vector<std::int64_t>(length, 0));
  for (std::size_t j = 0; j < refs.size(); ++j)
    for (std::size_t c = 0; c < channels; ++c)
      for (std::size_t n = 0; n < length; ++n) mix[c][n] += (refs[j][c][n] * gains[j]) >> 15;
  if (channels == 2 && cross_gain) {
    const Signal before = mix;
    for (std::size_t c = 0; c < 2; ++c)
      for (std::size_t n = 0; n < length; ++n) mix[c][n] += (before[1 - c][n] * cross_gain) >> 15;
  }
  if (delay)
    for (auto& ch : mix) {
      std::copy_backward(ch.begin(), ch.end() - delay, ch.end());
      std::fill(ch.begin(), ch.begin() + delay, 0);
    }
  for (std::size_t c = 0; c < channels; ++c) {
    mix[c] = one_pole(mix[c], smooth_shift);
    const auto noise = noise16(seed + 7919 * static_cast<std::int64_t>(c), static_cast<std::int64_t>(length));
    for (std::size_t n = 0; n < length; ++n) mix[c][n] = clip16(mix[c][n] + ((noise[n] * noise_gain) >> 15));
  }
  apply_silences(mix, tensor_i64(f, key + "/silent"));
  return mix;
}

std::vector<std::int64_t> checksum(const Signal& sig) {
  std::int64_t sum = 0, squares = 0, weighted = 0;
  for (const auto& ch : sig)
    for (std::size_t n = 0; n < ch.size(); ++n) {
      sum += ch[n];
      squares += ch[n] * ch[n];
      weighted += ch[n] * static_cast<std::int64_t>(n % 97);
    }
  return {sum, squares, weighted};
}

std::vector<float> planar(const Signal& sig) {
  std::vector<float> out;
  for (const auto& ch : sig)
    for (auto v : ch) out.push_back(static_cast<float>(v) / 32768.f);
  return out;
}

std::vector<std::string> case_names(const safetensors::File& f) {
  std::vector<std::string> names;
  std::stringstream list(f.metadata.at("cases"));
  for (std::string name; std::getline(list, name, ',');) names.push_back(name);
  return names;
}

class MusevalParity : public ::testing::TestWithParam<std::string> {
 protected:
  static const safetensors::File& fixture() {
    static const safetensors::File f = safetensors::read(unmix::test::fixture("museval_parity.safetensors"));
    return f;
  }
};

TEST_P(MusevalParity, PerFrameMetricsMatch) {
  const auto& f = fixture();
  const std::string name = GetParam();
  const auto config = tensor_i64(f, name + "/config");
  const std::int64_t length = config[0];
  const int channels = static_cast<int>(config[1]);
  eval::BssEvalOptions options;
  options.window = config[2];
  options.hop = config[3];
  options.filters_len = static_cast<int>(config[4]);
  options.framewise_filters = config[5] != 0;
  options.compute_permutation = config[6] != 0;

  const auto sums = tensor_i64(f, name + "/checksums");
  const std::size_t sources = sums.size() / 6;
  std::vector<Signal> refs, ests;
  for (std::size_t j = 0; j < sources; ++j)
    refs.push_back(make_reference(f, name + "/ref" + std::to_string(j), length, channels));
  for (std::size_t j = 0; j < sources; ++j) ests.push_back(make_estimate(f, name + "/est" + std::to_string(j), refs));
  for (std::size_t i = 0; i < 2 * sources; ++i) {
    const auto& sig = i < sources ? refs[i] : ests[i - sources];
    ASSERT_EQ(checksum(sig), std::vector<std::int64_t>(sums.begin() + 3 * i, sums.begin() + 3 * i + 3))
        << "generated signal " << i << " differs from the fixture script's";
  }

  std::vector<std::vector<float>> ref_data, est_data;
  std::vector<eval::PlanarSource> ref_ptr, est_ptr;
  for (std::size_t j = 0; j < sources; ++j) {
    ref_data.push_back(planar(refs[j]));
    est_data.push_back(planar(ests[j]));
  }
  for (std::size_t j = 0; j < sources; ++j) {
    ref_ptr.push_back(ref_data[j].data());
    est_ptr.push_back(est_data[j].data());
  }
  const auto result = eval::bss_eval(ref_ptr, est_ptr, channels, length, options);

  const auto expected_sdr = tensor_f64(f, name + "/sdr");
  ASSERT_EQ(static_cast<std::size_t>(result.sources) * result.frames, expected_sdr.size());
  const auto perm = tensor_i64(f, name + "/perm");
  ASSERT_EQ(result.permutation.size(), perm.size());
  for (std::size_t i = 0; i < perm.size(); ++i) EXPECT_EQ(result.permutation[i], perm[i]) << "permutation entry " << i;

  int nan_frames = 0;
  double worst = 0;
  for (const auto& [metric, ours] : {std::pair{"sdr", &result.sdr}, std::pair{"isr", &result.isr},
                                      std::pair{"sir", &result.sir}, std::pair{"sar", &result.sar}}) {
    const auto theirs = tensor_f64(f, name + "/" + metric);
    ASSERT_EQ(ours->size(), theirs.size());
    for (std::size_t i = 0; i < theirs.size(); ++i) {
      const double a = (*ours)[i], b = theirs[i];
      const std::string where = std::string(metric) + " source " + std::to_string(i / result.frames) + " frame " +
                                std::to_string(i % result.frames);
      if (std::isnan(b)) {
        EXPECT_TRUE(std::isnan(a)) << where << ": museval NaN, ours " << a;
        ++nan_frames;
      } else if (std::isinf(b)) {
        EXPECT_EQ(a, b) << where;
      } else {
        EXPECT_NEAR(a, b, kToleranceDb) << where;
        if (std::isfinite(a)) worst = std::max(worst, std::abs(a - b));
      }
    }
  }
  RecordProperty("nan_values", nan_frames);
  RecordProperty("largest_difference_db", std::to_string(worst));
  std::printf("%s: largest difference %.2e dB, %d NaN values as museval\n", name.c_str(), worst, nan_frames);
}

INSTANTIATE_TEST_SUITE_P(Cases, MusevalParity,
                         ::testing::ValuesIn(case_names(
                             safetensors::read(unmix::test::fixture("museval_parity.safetensors")))),
                         [](const ::testing::TestParamInfo<std::string>& param) { return param.param; });

}  // namespace
