// BSSEval building blocks and behaviour: FFT correlations against direct sums, framing, silence rules,
// and metrics on signals whose answer is known.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cmath>
#include <limits>
#include <numbers>

#include "test_support.h"
#include "unmix/error.h"
#include "unmix/eval/bss_eval.h"
#include "unmix/eval/distortion_filters.h"
#include "unmix/eval/lagged_correlation.h"

using namespace unmix;
using namespace unmix::eval;

namespace {

double direct_correlation(const float* x, const float* y, std::int64_t begin, std::int64_t end, int k) {
  double sum = 0;
  for (std::int64_t n = begin; n < end; ++n)
    if (n + k >= begin && n + k < end) sum += static_cast<double>(x[n + k]) * y[n];
  return sum;
}

Audio stereo(std::int64_t frames, std::uint64_t seed, float gain = 0.3f) {
  Audio a;
  a.sample_rate = 44100;
  a.channels = 2;
  a.frames = frames;
  a.samples = unmix::test::random_vector<float>(2 * static_cast<std::size_t>(frames), seed, -gain, gain);
  return a;
}

// y = x convolved with a short FIR per channel (causal, zero initial state).
Audio filtered(const Audio& x, const std::vector<float>& taps) {
  Audio y = x;
  for (int c = 0; c < x.channels; ++c)
    for (std::int64_t n = 0; n < x.frames; ++n) {
      double acc = 0;
      for (std::size_t k = 0; k < taps.size() && static_cast<std::int64_t>(k) <= n; ++k)
        acc += taps[k] * x.channel(c)[n - static_cast<std::int64_t>(k)];
      y.channel(c)[n] = static_cast<float>(acc);
    }
  return y;
}

Audio weighted_sum(const Audio& a, float wa, const Audio& b, float wb) {
  Audio out = a;
  for (std::size_t i = 0; i < out.samples.size(); ++i) out.samples[i] = wa * a.samples[i] + wb * b.samples[i];
  return out;
}

// Short frames and filters keep these behavioural tests fast; the museval defaults are covered by the
// parity suite.
BssEvalOptions quick() {
  BssEvalOptions o;
  o.window = o.hop = 8820;
  o.filters_len = 128;
  return o;
}

double energy(const Audio& a) {
  double e = 0;
  for (float v : a.samples) e += static_cast<double>(v) * v;
  return e;
}

TEST(FastFftSize, SmallestFiveSmoothMultipleOfFour) {
  EXPECT_EQ(fast_real_fft_size(1), 4);
  EXPECT_EQ(fast_real_fft_size(44611), 45000);  // 2^3 3^2 5^4
  EXPECT_EQ(fast_real_fft_size(16384), 16384);
  for (std::int64_t n : {5, 97, 1000, 12345, 44100 + 511}) {
    const int size = fast_real_fft_size(n);
    EXPECT_GE(size, n);
    EXPECT_EQ(size % 4, 0);
    int rest = size;
    for (int p : {2, 3, 5})
      while (rest % p == 0) rest /= p;
    EXPECT_EQ(rest, 1) << size;
  }
}

TEST(LaggedCorrelation, MatchesDirectSumsAcrossBlocksAndRanges) {
  // Long enough for several FFT blocks; a sub-range checks the zero outside [begin, end).
  const std::int64_t length = 40000;
  const auto a = unmix::test::random_vector<float>(length, 1);
  const auto b = unmix::test::random_vector<float>(length, 2);
  const auto c = unmix::test::random_vector<float>(length, 3);
  const std::vector<const float*> x = {a.data(), b.data()};
  const std::vector<const float*> y = {a.data(), b.data(), c.data()};
  for (auto [begin, end, lag] : {std::tuple<std::int64_t, std::int64_t, int>{0, length, 40},
                                 {123, 37000, 300},
                                 {5000, 5100, 511},
                                 {0, 10, 20}}) {
    const auto corr = lagged_correlations(x, y, begin, end, lag);
    double worst = 0, scale = 0;
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 3; ++j)
        for (int k = -lag; k <= lag; k += (lag > 50 ? 7 : 1)) {
          const double want = direct_correlation(x[i], y[j], begin, end, k);
          worst = std::max(worst, std::abs(corr(i, j, k) - want));
          scale = std::max(scale, std::abs(want));
        }
    EXPECT_LE(worst, 1e-12 * std::max(scale, 1.0)) << "range " << begin << ".." << end << " lag " << lag;
  }
}

TEST(DistortionFilters, RecoverAnExactFilter) {
  // est = 0.8 x0 + 0.3 x0 delayed 5 - 0.2 x1 delayed 2: the solve must return those taps.
  const std::int64_t length = 20000;
  const int L = 16;
  // The delayed copies run past the end (full convolution support), so the sources end in L zeros for the
  // estimate to lie exactly in their span.
  auto x0 = unmix::test::random_vector<float>(length, 11);
  auto x1 = unmix::test::random_vector<float>(length, 12);
  std::fill(x0.end() - L, x0.end(), 0.f);
  std::fill(x1.end() - L, x1.end(), 0.f);
  std::vector<float> est(length, 0.f);
  for (std::int64_t n = 0; n < length; ++n)
    est[n] = static_cast<float>(0.8 * x0[n] + (n >= 5 ? 0.3 * x0[n - 5] : 0.0) - (n >= 2 ? 0.2 * x1[n - 2] : 0.0));
  const std::vector<const float*> x = {x0.data(), x1.data()};
  const std::vector<const float*> y = {x0.data(), x1.data(), est.data()};
  const auto corr = lagged_correlations(x, y, 0, length, L - 1);
  const auto gram = delayed_gram(corr, 0, 2, L);
  EXPECT_TRUE(gram.isApprox(gram.transpose(), 0.0));
  const std::vector<int> cols = {2};
  const auto filters = solve_distortion_filters(gram, delayed_cross(corr, 0, 2, cols, L));
  ASSERT_EQ(filters.rows(), 2 * L);
  for (int r = 0; r < 2 * L; ++r) {
    const double want = r == 0 ? 0.8 : r == 5 ? 0.3 : r == L + 2 ? -0.2 : 0.0;
    EXPECT_NEAR(filters(r, 0), want, 1e-6) << "tap " << r;
  }
}

TEST(Framing, FramesFollowMuseval) {
  EXPECT_EQ(frame_count(4 * 44100 + 22050, 44100, 44100), 4);  // a trailing partial window is dropped
  EXPECT_EQ(frame_count(4 * 44100, 44100, 44100), 4);
  EXPECT_EQ(frame_count(30000, 44100, 44100), 1);  // shorter than a window: one frame over everything
  EXPECT_EQ(frame_count(5 * 44100, 2 * 44100, 66150), 3);
  EXPECT_EQ(frame_count(44100, 44100, 44100), 1);
}

TEST(Silence, SumOverChannelsDecides) {
  // museval's test: the channel sum is zero everywhere (so right = -left counts as silent).
  std::vector<float> planar = {0.5f, -0.25f, 0.f, 0.f, -0.5f, 0.25f, 0.f, 0.1f};  // 2 channels x 4 samples
  EXPECT_TRUE(is_silent(planar.data(), 2, 4, 0, 3));
  EXPECT_FALSE(is_silent(planar.data(), 2, 4, 0, 4));
  EXPECT_TRUE(is_silent(planar.data(), 1, 8, 2, 4));
}

TEST(BssEval, PerfectEstimateScoresNearTheDoublePrecisionLimit) {
  const Audio s0 = stereo(3 * 8820, 21), s1 = stereo(3 * 8820, 22);
  const auto r = bss_eval({s0, s1}, {s0, s1}, quick());
  ASSERT_EQ(r.frames, 3);
  for (int j = 0; j < 2; ++j)
    for (int t = 0; t < 3; ++t) {
      EXPECT_GT(r.at(r.sdr, j, t), 150.0);  // the error is rounding only (or exactly zero: +inf)
      EXPECT_GT(r.at(r.isr, j, t), 100.0);
      EXPECT_GT(r.at(r.sir, j, t), 100.0);
    }
}

TEST(BssEval, LeakageSetsSirAndFilteringKeepsSar) {
  // est0 = h * s0 + g s1 with h a short filter: no artifacts (SAR huge), SIR = energy of the filtered image
  // over the leaked interference, for independent noise sources.
  const std::int64_t length = 4 * 8820;
  const Audio s0 = stereo(length, 31), s1 = stereo(length, 32);
  const Audio image = filtered(s0, {0.7f, 0.2f, -0.1f});
  const float g = 0.1f;
  const Audio est0 = weighted_sum(image, 1.f, s1, g);
  const Audio est1 = weighted_sum(s1, 1.f, stereo(length, 33, 0.03f), 1.f);  // s1 plus white noise
  const auto r = bss_eval({s0, s1}, {est0, est1}, quick());
  ASSERT_EQ(r.frames, 4);
  const double expected_sir = 10 * std::log10(energy(image) / (g * g * energy(s1)));
  const double expected_sar1 = 10 * std::log10(energy(s1) / energy(stereo(length, 33, 0.03f)));
  for (int t = 0; t < r.frames; ++t) {
    // Only the frame edges (filter taps reaching across the cut) count as artifacts.
    EXPECT_GT(r.at(r.sar, 0, t), 40.0);
    EXPECT_NEAR(r.at(r.sir, 0, t), expected_sir, 0.3);
    EXPECT_NEAR(r.at(r.sar, 1, t), expected_sar1, 0.3);  // noise outside the references' span is artifact
    EXPECT_GT(r.at(r.sir, 1, t), 30.0);  // only the noise's chance overlap with s0's span leaks
    EXPECT_LT(r.at(r.sdr, 0, t), r.at(r.sir, 0, t));  // filtering distortion lowers SDR, not SIR
  }
}

TEST(BssEval, SilentFrameIsNaNForEverySource) {
  const std::int64_t length = 4 * 8820;
  Audio s0 = stereo(length, 41), s1 = stereo(length, 42);
  for (int c = 0; c < 2; ++c) std::fill(s0.channel(c) + 8820, s0.channel(c) + 2 * 8820, 0.f);
  const Audio e0 = weighted_sum(s0, 1.f, s1, 0.2f), e1 = weighted_sum(s1, 1.f, s0, 0.2f);
  for (bool v3 : {false, true}) {
    BssEvalOptions o = quick();
    o.framewise_filters = v3;
    const auto r = bss_eval({s0, s1}, {e0, e1}, o);
    ASSERT_EQ(r.frames, 4);
    for (int j = 0; j < 2; ++j)
      for (int t = 0; t < r.frames; ++t) {
        const bool nan = std::isnan(r.at(r.sdr, j, t)) && std::isnan(r.at(r.isr, j, t)) &&
                         std::isnan(r.at(r.sir, j, t)) && std::isnan(r.at(r.sar, j, t));
        EXPECT_EQ(nan, t == 1) << "source " << j << " frame " << t << (v3 ? " (v3)" : " (v4)");
      }
  }
}

TEST(BssEval, QuietReferenceFramesCountAsSilentBelowTheThreshold) {
  // A part that rests leaves a tail far below full scale: scored by museval's rule, skipped below silence_db.
  const std::int64_t length = 4 * 8820;
  Audio s0 = stereo(length, 43), s1 = stereo(length, 44);  // uniform in +-0.3: -15.2 dBFS
  for (int c = 0; c < 2; ++c)
    for (std::int64_t n = 2 * 8820; n < 3 * 8820; ++n) s0.channel(c)[n] *= 1e-4f;  // frame 2 at -95.2 dBFS
  const Audio e0 = weighted_sum(s0, 1.f, s1, 0.2f), e1 = weighted_sum(s1, 1.f, s0, 0.2f);
  EXPECT_NEAR(power_db(s0.channel(0), 2, length, 2 * 8820, 3 * 8820), -95.2, 0.3);
  EXPECT_EQ(power_db(s0.channel(0), 2, length, 0, 0), -std::numeric_limits<double>::infinity());
  BssEvalOptions o = quick();
  const auto museval_rule = bss_eval({s0, s1}, {e0, e1}, o);
  o.silence_db = -60;
  const auto threshold = bss_eval({s0, s1}, {e0, e1}, o);
  EXPECT_LT(museval_rule.at(museval_rule.sdr, 0, 2), -20.0);  // the tail drowns in the leakage
  for (int t = 0; t < 4; ++t) {
    EXPECT_FALSE(std::isnan(museval_rule.at(museval_rule.sdr, 0, t))) << t;
    for (int j = 0; j < 2; ++j) {
      EXPECT_EQ(std::isnan(threshold.at(threshold.sdr, j, t)), t == 2) << "source " << j << " frame " << t;
      if (t != 2) {
        EXPECT_DOUBLE_EQ(threshold.at(threshold.sdr, j, t), museval_rule.at(museval_rule.sdr, j, t));
      }
    }
  }
  o.silence_db = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW(bss_eval({s0, s1}, {e0, e1}, o), Error);
}

TEST(BssEval, PermutationSearchRestoresTheOrder) {
  const std::int64_t length = 2 * 8820;
  const Audio s0 = stereo(length, 51), s1 = stereo(length, 52);
  const Audio e0 = weighted_sum(s0, 1.f, s1, 0.1f), e1 = weighted_sum(s1, 1.f, s0, 0.1f);
  BssEvalOptions o = quick();
  o.compute_permutation = true;
  const auto swapped = bss_eval({s0, s1}, {e1, e0}, o);
  EXPECT_EQ(swapped.permutation, (std::vector<int>{1, 0}));
  const auto straight = bss_eval({s0, s1}, {e0, e1}, quick());
  for (std::size_t i = 0; i < straight.sdr.size(); ++i) EXPECT_NEAR(swapped.sdr[i], straight.sdr[i], 1e-6);
}

TEST(BssEval, RejectsBadInput) {
  const Audio s0 = stereo(44100, 61), s1 = stereo(44100, 62);
  Audio silent = s1;
  std::fill(silent.samples.begin(), silent.samples.end(), 0.f);
  EXPECT_THROW(bss_eval({s0, silent}, {s0, s1}), Error);  // silent reference: ambiguous, as museval
  EXPECT_THROW(bss_eval({s0, s1}, {s0, silent}), Error);  // silent estimate
  Audio shorter = stereo(44000, 63);
  EXPECT_THROW(bss_eval({s0, s1}, {s0, shorter}), Error);
  Audio bad = s1;
  bad.samples[10] = NAN;
  EXPECT_THROW(bss_eval({s0, s1}, {s0, bad}), Error);
  EXPECT_THROW(bss_eval({s0, s1}, {s0}), Error);
}

TEST(BssEval, CancelFlagStopsWithAnError) {
  const Audio s0 = stereo(2 * 44100, 71), s1 = stereo(2 * 44100, 72);
  std::atomic<bool> stop{true};
  BssEvalOptions o;
  o.cancel = &stop;
  try {
    bss_eval({s0, s1}, {s1, s0}, o);
    FAIL() << "expected an interruption";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("interrupted"), std::string::npos);
  }
}

}  // namespace

namespace {

// A mono source panned into stereo and stored as float: the channels are scaled copies up to float rounding,
// so the Gram matrix of its delayed channels is singular below double precision. museval's plain epsilon
// lets the filters fit rounding noise (its scores then swing by many dB with the track length); with the
// regularization the scores are set by the signals, so a 100 times stronger load changes nothing visible.
TEST(BssEval, PannedMonoFloatSourceScoresDoNotDependOnRounding) {
  const std::int64_t length = 5 * 8820;
  Audio s0 = stereo(length, 81), s1 = stereo(length, 82);
  float state = 0;
  for (std::int64_t n = 0; n < length; ++n) {
    state += 0.2f * (s0.channel(0)[n] - state);  // lowpassed noise, then panned: left 0.8, right 0.5
    s0.channel(0)[n] = 0.8f * state;
    s0.channel(1)[n] = 0.5f * state;
  }
  const Audio e0 = weighted_sum(weighted_sum(s0, 1.f, s1, 0.05f), 1.f, stereo(length, 83, 0.003f), 1.f);
  const Audio e1 = weighted_sum(s1, 1.f, s0, 0.05f);
  BssEvalOptions strong = quick();
  strong.regularization = 1e-12;
  BssEvalOptions exact = quick();
  exact.regularization = 0;
  const auto normal = bss_eval({s0, s1}, {e0, e1}, quick());
  const auto loaded = bss_eval({s0, s1}, {e0, e1}, strong);
  const auto plain = bss_eval({s0, s1}, {e0, e1}, exact);
  for (int t = 0; t < normal.frames; ++t) {
    for (auto m : {&BssEvalResult::sdr, &BssEvalResult::isr, &BssEvalResult::sir, &BssEvalResult::sar})
      for (int j = 0; j < 2; ++j)
        EXPECT_NEAR(normal.at(normal.*m, j, t), loaded.at(loaded.*m, j, t), 0.05) << "source " << j << " frame " << t;
    std::printf("frame %d  ISR0 %.2f (plain epsilon %.2f)  SIR0 %.2f (plain epsilon %.2f)\n", t,
                normal.at(normal.isr, 0, t), plain.at(plain.isr, 0, t), normal.at(normal.sir, 0, t),
                plain.at(plain.sir, 0, t));
  }
}

}  // namespace
