// Oracle separations: exact where the method can be exact, and each method's known limits.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "test_support.h"
#include "unmix/error.h"
#include "unmix/eval/oracle.h"

using namespace unmix;
using namespace unmix::eval;
using unmix::test::rel_error;

namespace {

constexpr int kRate = 44100;

Audio make(int channels, std::int64_t frames) {
  Audio a;
  a.sample_rate = kRate;
  a.channels = channels;
  a.frames = frames;
  a.samples.assign(static_cast<std::size_t>(channels) * static_cast<std::size_t>(frames), 0.f);
  return a;
}

// A mono signal placed in stereo with the given channel gains.
Audio panned(const std::vector<float>& mono, float left, float right) {
  Audio a = make(2, static_cast<std::int64_t>(mono.size()));
  for (std::size_t n = 0; n < mono.size(); ++n) {
    a.channel(0)[n] = left * mono[n];
    a.channel(1)[n] = right * mono[n];
  }
  return a;
}

std::vector<float> sine(double hz, std::int64_t frames, double amplitude = 0.3) {
  std::vector<float> v(static_cast<std::size_t>(frames));
  for (std::int64_t n = 0; n < frames; ++n)
    v[n] = static_cast<float>(amplitude * std::sin(2 * std::numbers::pi * hz * static_cast<double>(n) / kRate));
  return v;
}

Audio sum(const std::vector<Audio>& sources) {
  Audio mix = sources.front();
  for (std::size_t j = 1; j < sources.size(); ++j)
    for (std::size_t i = 0; i < mix.samples.size(); ++i) mix.samples[i] += sources[j].samples[i];
  return mix;
}

// Error over the middle of the signal (the STFT edges are not what these tests are about).
double middle_error(const Audio& estimate, const Audio& truth) {
  std::vector<float> a, b;
  for (int c = 0; c < truth.channels; ++c)
    for (std::int64_t n = truth.frames / 8; n < truth.frames * 7 / 8; ++n) {
      a.push_back(estimate.channel(c)[n]);
      b.push_back(truth.channel(c)[n]);
    }
  return rel_error(a, b);
}

TEST(Oracle, NamesRoundTrip) {
  for (OracleMethod m : all_oracles()) {
    OracleMethod parsed;
    ASSERT_TRUE(parse_oracle(oracle_name(m), parsed));
    EXPECT_EQ(parsed, m);
  }
  OracleMethod m;
  EXPECT_TRUE(parse_oracle("mix", m));
  EXPECT_EQ(m, OracleMethod::Mixture);
  EXPECT_TRUE(parse_oracle("irm2", m));
  EXPECT_EQ(m, OracleMethod::IRM2);
  EXPECT_FALSE(parse_oracle("IRM3", m));
}

TEST(Oracle, MixtureBaselineIsTheMix) {
  const std::int64_t frames = kRate / 2;
  const std::vector<Audio> sources = {panned(sine(220, frames), 0.7f, 0.3f), panned(sine(3000, frames), 0.2f, 0.9f)};
  const Audio mix = sum(sources);
  const auto est = oracle_estimates(OracleMethod::Mixture, sources, mix);
  ASSERT_EQ(est.size(), 2u);
  for (const auto& e : est) EXPECT_EQ(e.samples, mix.samples);
}

TEST(Oracle, SeparatesSourcesInDisjointBands) {
  const std::int64_t frames = kRate;
  const std::vector<Audio> sources = {panned(sine(300, frames), 0.8f, 0.5f), panned(sine(6000, frames), 0.4f, 0.9f)};
  const Audio mix = sum(sources);
  for (OracleMethod m : {OracleMethod::IRM1, OracleMethod::IRM2, OracleMethod::IBM, OracleMethod::MWF}) {
    const auto est = oracle_estimates(m, sources, mix);
    for (std::size_t j = 0; j < 2; ++j)
      EXPECT_LT(middle_error(est[j], sources[j]), 0.02) << oracle_name(m) << " source " << j;
  }
  EXPECT_GT(middle_error(oracle_estimates(OracleMethod::Mixture, sources, mix)[0], sources[0]), 0.5);
}

TEST(Oracle, RatioMasksAndWienerGainsAddUpToTheMixture) {
  const std::int64_t frames = kRate / 2;
  const auto noise = unmix::test::random_vector<float>(static_cast<std::size_t>(frames), 5, -0.2, 0.2);
  const std::vector<Audio> sources = {panned(sine(440, frames), 0.6f, 0.6f), panned(noise, 0.3f, 0.8f),
                                      panned(sine(1234, frames), 0.9f, 0.1f)};
  const Audio mix = sum(sources);
  for (OracleMethod m : {OracleMethod::IRM1, OracleMethod::IRM2, OracleMethod::MWF}) {
    const auto est = oracle_estimates(m, sources, mix);
    ASSERT_EQ(est.size(), 3u);
    EXPECT_LT(rel_error(sum(est).samples, mix.samples), 1e-4) << oracle_name(m);
  }
}

TEST(Oracle, WienerFilterUsesSpatialCuesThatMasksCannot) {
  // Two white noises with the same spectrum, panned differently: per-channel masks are ~0.5 everywhere
  // and cannot tell them apart; the multichannel Wiener filter separates them by direction.
  const std::int64_t frames = kRate;
  const auto n0 = unmix::test::random_vector<float>(static_cast<std::size_t>(frames), 11, -0.3, 0.3);
  const auto n1 = unmix::test::random_vector<float>(static_cast<std::size_t>(frames), 12, -0.3, 0.3);
  const std::vector<Audio> sources = {panned(n0, 0.9f, 0.35f), panned(n1, 0.3f, 0.95f)};
  const Audio mix = sum(sources);
  const auto mwf = oracle_estimates(OracleMethod::MWF, sources, mix);
  const auto irm = oracle_estimates(OracleMethod::IRM1, sources, mix);
  for (std::size_t j = 0; j < 2; ++j) {
    EXPECT_LT(middle_error(mwf[j], sources[j]), 0.02) << "MWF source " << j;
    EXPECT_GT(middle_error(irm[j], sources[j]), 0.3) << "IRM1 source " << j;
  }
}

TEST(Oracle, SilentSourceGetsSilence) {
  const std::int64_t frames = kRate / 2;
  const std::vector<Audio> sources = {panned(sine(440, frames), 0.6f, 0.6f), make(2, frames)};
  const Audio mix = sum(sources);
  for (OracleMethod m : {OracleMethod::IRM1, OracleMethod::IRM2, OracleMethod::IBM, OracleMethod::MWF}) {
    const auto est = oracle_estimates(m, sources, mix);
    double peak = 0;
    for (float v : est[1].samples) peak = std::max(peak, static_cast<double>(std::abs(v)));
    EXPECT_LT(peak, 1e-5) << oracle_name(m);
  }
}

TEST(Oracle, MonoWorks) {
  const std::int64_t frames = kRate / 2;
  Audio a = make(1, frames), b = make(1, frames);
  const auto s0 = sine(200, frames), s1 = sine(5000, frames);
  std::copy(s0.begin(), s0.end(), a.samples.begin());
  std::copy(s1.begin(), s1.end(), b.samples.begin());
  const Audio mix = sum({a, b});
  for (OracleMethod m : {OracleMethod::IRM2, OracleMethod::MWF}) {
    const auto est = oracle_estimates(m, {a, b}, mix);
    EXPECT_LT(middle_error(est[0], a), 0.02) << oracle_name(m);
  }
}

TEST(Oracle, RejectsMismatchedInput) {
  const Audio a = make(2, 10000), b = make(2, 9000), mono = make(1, 10000);
  EXPECT_THROW(oracle_estimates(OracleMethod::IRM1, {a, b}, a), Error);
  EXPECT_THROW(oracle_estimates(OracleMethod::IRM1, {a, mono}, a), Error);
  EXPECT_THROW(oracle_estimates(OracleMethod::IRM1, {}, a), Error);
  EXPECT_THROW(oracle_estimates(OracleMethod::IBM, {make(2, 100)}, make(2, 100)), Error);  // shorter than the STFT needs
}

}  // namespace
