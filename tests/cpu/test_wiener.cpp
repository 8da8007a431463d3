// The Wiener post-filter against openunmix.filtering.wiener (fixture from scripts/make_separator_fixtures.py)
// and against its defining properties.
#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <cstdio>
#include <sstream>

#include "test_support.h"
#include "unmix/error.h"
#include "unmix/safetensors.h"
#include "unmix/wiener.h"
#include "unmix/wiener_stages.h"

namespace {

using namespace unmix;
using test::rel_error;

ComplexSpectrogram make_spec(int channels, int frames, int bins) {
  ComplexSpectrogram s;
  s.channels = channels;
  s.frames = frames;
  s.bins = bins;
  s.data.resize(static_cast<std::size_t>(channels) * frames * bins);
  return s;
}

ComplexSpectrogram random_spec(int channels, int frames, int bins, std::uint64_t seed, double amplitude = 1.0) {
  auto s = make_spec(channels, frames, bins);
  const auto v = test::random_vector<float>(2 * s.data.size(), seed, -amplitude, amplitude);
  for (std::size_t i = 0; i < s.data.size(); ++i) s.data[i] = {v[2 * i], v[2 * i + 1]};
  return s;
}

// [frames][channels][bins] magnitudes per target
std::vector<std::vector<float>> random_magnitudes(int targets, int channels, int frames, int bins, std::uint64_t seed,
                                                  double amplitude = 1.0) {
  std::vector<std::vector<float>> m;
  for (int j = 0; j < targets; ++j)
    m.push_back(test::random_vector<float>(static_cast<std::size_t>(frames) * channels * bins, seed + j, 0.0, amplitude));
  return m;
}

TargetMagnitudes view(const std::vector<std::vector<float>>& m, int channels) {
  TargetMagnitudes t;
  t.channels = channels;
  for (const auto& v : m) t.targets.push_back(v.data());
  return t;
}

std::vector<float> flat(const std::vector<ComplexSpectrogram>& sources) {
  std::vector<float> out;
  for (const auto& s : sources)
    for (auto z : s.data) {
      out.push_back(z.real());
      out.push_back(z.imag());
    }
  return out;
}

TEST(Wiener, MatchesOpenunmixFilteringWiener) {
  const auto file = safetensors::read(test::fixture("separator_wiener.safetensors"));
  std::stringstream cases(file.metadata.at("cases"));
  std::string name;
  int checked = 0;
  while (std::getline(cases, name, ',')) {
    SCOPED_TRACE(name);
    const auto* mix_t = file.find(name + ".mix");
    const auto* mag_t = file.find(name + ".magnitudes");
    const auto* out_t = file.find(name + ".sources");
    ASSERT_TRUE(mix_t && mag_t && out_t);
    // openunmix layouts: mix (frames, bins, channels, 2), magnitudes (frames, bins, channels, targets),
    // sources (frames, bins, channels, 2, sources)
    const int T = static_cast<int>(mix_t->shape[0]), F = static_cast<int>(mix_t->shape[1]);
    const int C = static_cast<int>(mix_t->shape[2]), mc = static_cast<int>(mag_t->shape[2]);
    const int J = static_cast<int>(mag_t->shape[3]), S = static_cast<int>(out_t->shape[4]);
    const auto mix_v = safetensors::as_f32(*mix_t), mag_v = safetensors::as_f32(*mag_t), out_v = safetensors::as_f32(*out_t);

    auto mix = make_spec(C, T, F);
    for (int t = 0; t < T; ++t)
      for (int f = 0; f < F; ++f)
        for (int c = 0; c < C; ++c) {
          const std::size_t i = ((static_cast<std::size_t>(t) * F + f) * C + c) * 2;
          mix.frame(c, t)[f] = {mix_v[i], mix_v[i + 1]};
        }
    std::vector<std::vector<float>> mags(J, std::vector<float>(static_cast<std::size_t>(T) * mc * F));
    for (int t = 0; t < T; ++t)
      for (int f = 0; f < F; ++f)
        for (int c = 0; c < mc; ++c)
          for (int j = 0; j < J; ++j)
            mags[j][(static_cast<std::size_t>(t) * mc + c) * F + f] = mag_v[((static_cast<std::size_t>(t) * F + f) * mc + c) * J + j];

    WienerOptions opt;
    opt.iterations = static_cast<int>(std::stod(file.metadata.at(name + ".iterations")));
    opt.softmask = file.metadata.at(name + ".softmask") == "1";
    opt.residual = file.metadata.at(name + ".residual") == "1";
    opt.window_frames = 0;  // one filtering.wiener call over all frames
    const auto sources = wiener(mix, view(mags, mc), opt);
    ASSERT_EQ(static_cast<int>(sources.size()), S);

    std::vector<float> expected, actual;
    for (int j = 0; j < S; ++j)
      for (int t = 0; t < T; ++t)
        for (int f = 0; f < F; ++f)
          for (int c = 0; c < C; ++c)
            for (int k = 0; k < 2; ++k) {
              expected.push_back(out_v[(((static_cast<std::size_t>(t) * F + f) * C + c) * 2 + k) * S + j]);
              const auto z = sources[j].frame(c, t)[f];
              actual.push_back(k == 0 ? z.real() : z.imag());
            }
    const double err = rel_error(actual, expected);
    std::printf("  %-18s relative error %.2e\n", name.c_str(), err);
    EXPECT_LT(err, 1e-6);
    ++checked;
  }
  EXPECT_EQ(checked, 5);
}

TEST(Wiener, RatioInitWithoutEmKeepsMagnitudeAndMixturePhase) {
  const int C = 2, T = 9, F = 11;
  const auto mix = random_spec(C, T, F, 1);
  const auto mags = random_magnitudes(2, C, T, F, 2);
  WienerOptions opt;
  opt.iterations = 0;
  opt.residual = true;
  const auto s = wiener(mix, view(mags, C), opt);
  ASSERT_EQ(s.size(), 3u);
  for (int c = 0; c < C; ++c)
    for (int t = 0; t < T; ++t)
      for (int f = 0; f < F; ++f) {
        const auto x = mix.frame(c, t)[f];
        std::complex<float> sum = 0;
        for (int j = 0; j < 2; ++j) {
          const auto y = s[j].frame(c, t)[f];
          EXPECT_NEAR(std::abs(y), mags[j][(static_cast<std::size_t>(t) * C + c) * F + f], 1e-6);
          EXPECT_NEAR(std::arg(y), std::arg(x), 1e-5);
          sum += y;
        }
        EXPECT_NEAR(std::abs(s[2].frame(c, t)[f] - (x - sum)), 0.0, 1e-6);
      }
}

TEST(Wiener, SilentBinKeepsZeroPhaseAndZeroMixture) {
  auto mix = random_spec(2, 4, 5, 3);
  mix.frame(0, 1)[2] = 0.f;
  mix.frame(1, 1)[2] = 0.f;
  const auto mags = random_magnitudes(1, 2, 4, 5, 4);
  WienerOptions opt;
  opt.iterations = 0;
  opt.residual = true;
  const auto s = wiener(mix, view(mags, 2), opt);
  const float m = mags[0][(1 * 2 + 0) * 5 + 2];
  EXPECT_EQ(s[0].frame(0, 1)[2], std::complex<float>(m, 0.f));
  EXPECT_EQ(s[1].frame(0, 1)[2], std::complex<float>(-m, 0.f));  // 0 - target, nothing injected
}

TEST(Wiener, EmSourcesAddUpToTheMixture) {
  // The Wiener gains sum to I - sqrt(eps) Cxx^-1, so with the residual the sources rebuild the mixture.
  for (int iterations : {1, 3}) {
    const auto mix = random_spec(2, 30, 17, 5, 3.0);
    const auto mags = random_magnitudes(2, 2, 30, 17, 6, 3.0);
    WienerOptions opt;
    opt.iterations = iterations;
    opt.residual = true;
    const auto s = wiener(mix, view(mags, 2), opt);
    std::vector<float> sum(2 * mix.data.size(), 0.f), ref(2 * mix.data.size());
    for (std::size_t i = 0; i < mix.data.size(); ++i) {
      for (const auto& src : s) {
        sum[2 * i] += src.data[i].real();
        sum[2 * i + 1] += src.data[i].imag();
      }
      ref[2 * i] = mix.data[i].real();
      ref[2 * i + 1] = mix.data[i].imag();
    }
    EXPECT_LT(rel_error(sum, ref), 1e-4) << iterations;
    // ...while the EM did change the estimates
    WienerOptions none = opt;
    none.iterations = 0;
    EXPECT_GT(rel_error(flat(s), flat(wiener(mix, view(mags, 2), none))), 1e-2);
  }
}

TEST(Wiener, WindowsAreFilteredIndependently) {
  const int C = 2, T = 23, F = 9, W = 10;
  const auto mix = random_spec(C, T, F, 7, 40.0);  // loud: each window gets its own scaling
  const auto mags = random_magnitudes(1, C, T, F, 8, 40.0);
  WienerOptions opt;
  opt.iterations = 2;
  opt.residual = true;
  opt.window_frames = W;
  const auto whole = wiener(mix, view(mags, C), opt);
  for (int first = 0; first < T; first += W) {
    const int count = std::min(W, T - first);
    auto part = make_spec(C, count, F);
    for (int c = 0; c < C; ++c) std::copy_n(mix.frame(c, first), count * F, part.frame(c, 0));
    std::vector<std::vector<float>> part_mags(1, std::vector<float>(mags[0].begin() + first * C * F,
                                                                    mags[0].begin() + (first + count) * C * F));
    WienerOptions single = opt;
    single.window_frames = 0;
    const auto s = wiener(part, view(part_mags, C), single);
    for (std::size_t j = 0; j < s.size(); ++j)
      for (int c = 0; c < C; ++c)
        for (int i = 0; i < count * F; ++i) ASSERT_EQ(s[j].frame(c, 0)[i], whole[j].frame(c, first)[i]);
  }
  // and the windowing matters
  WienerOptions all = opt;
  all.window_frames = 0;
  EXPECT_GT(rel_error(flat(wiener(mix, view(mags, C), all)), flat(whole)), 1e-3);
}

// Each stage of the block pipeline (the CPU twins of the GPU kernels) against its formula, computed here
// with std::complex on single bins: initial estimates with the mixture's phase and the residual, v_j and
// R_j, and y_j = v_j R_j Cxx^-1 x for a stereo 2x2 model.
TEST(WienerStages, EachStageFollowsItsFormula) {
  using C64 = std::complex<double>;
  const int channels = 2, targets = 2, frames = 7, bins = 37;  // the second block holds 5 bins
  const auto mix = random_spec(channels, frames, bins, 41, 50.0);
  const auto mags = random_magnitudes(targets, channels, frames, bins, 42, 50.0);
  const TargetMagnitudes v = view(mags, channels);
  WienerOptions opt;
  opt.residual = true;
  const int S = targets + 1;
  const double scale = wiener_stages::window_scale(wiener_stages::window_peak(mix, 0, frames), opt.scale_factor);
  double peak = 0;
  for (auto z : mix.data) peak = std::max(peak, std::norm(std::complex<double>(z)));
  EXPECT_DOUBLE_EQ(scale, std::max(1.0, std::sqrt(peak) / opt.scale_factor));
  EXPECT_GT(scale, 1.0);  // the loud mixture is scaled down

  for (int bin0 : {0, 32}) {
    SCOPED_TRACE("block at bin " + std::to_string(bin0));
    const int nb = std::min(wiener_stages::kBlockBins, bins - bin0);
    wiener_stages::Block b;
    b.shape(channels, targets, S, 0, frames, bin0, nb);
    wiener_stages::initial_estimates(mix, v, opt, scale, b);
    auto x = [&](int t, int c, int f) { return C64(mix.frame(c, t)[bin0 + f]) / scale; };
    auto m = [&](int j, int t, int c, int f) {
      return static_cast<double>(mags[j][(static_cast<std::size_t>(t) * channels + c) * bins + bin0 + f]) / scale;
    };
    for (int t = 0; t < frames; ++t)
      for (int c = 0; c < channels; ++c)
        for (int f = 0; f < nb; ++f) {
          C64 rest = x(t, c, f);
          for (int j = 0; j < targets; ++j) {
            const C64 want = std::polar(m(j, t, c, f), std::arg(x(t, c, f)));
            EXPECT_NEAR(std::abs(b.y.at(b.yi(j, t, c) + f) - want), 0.0, 1e-12 * (1 + std::abs(want)));
            rest -= want;
          }
          EXPECT_NEAR(std::abs(b.y.at(b.yi(targets, t, c) + f) - rest), 0.0, 1e-12 * (1 + std::abs(rest)));
        }

    auto y = [&](int j, int t, int c, int f) { return b.y.at(b.yi(j, t, c) + f); };
    std::vector<C64> y0(static_cast<std::size_t>(S) * frames * channels * nb);
    for (int j = 0; j < S; ++j)
      for (int t = 0; t < frames; ++t)
        for (int c = 0; c < channels; ++c)
          for (int f = 0; f < nb; ++f) y0[((static_cast<std::size_t>(j) * frames + t) * channels + c) * nb + f] = y(j, t, c, f);
    auto y_before = [&](int j, int t, int c, int f) {
      return y0[((static_cast<std::size_t>(j) * frames + t) * channels + c) * nb + f];
    };
    wiener_stages::covariance(opt, b);
    for (int j = 0; j < S; ++j)
      for (int f = 0; f < nb; ++f) {
        double weight = opt.eps;
        C64 R[2][2] = {};
        for (int t = 0; t < frames; ++t) {
          const double power = (std::norm(y_before(j, t, 0, f)) + std::norm(y_before(j, t, 1, f))) / 2;
          EXPECT_NEAR(b.v[b.vi(j, t) + f], power, 1e-12 * (1 + power));
          weight += power;
          for (int p = 0; p < 2; ++p)
            for (int q = 0; q < 2; ++q) R[p][q] += y_before(j, t, p, f) * std::conj(y_before(j, t, q, f));
        }
        for (int p = 0; p < 2; ++p)
          for (int q = 0; q < 2; ++q)
            EXPECT_NEAR(std::abs(b.R.at(b.ri(j, p, q) + f) - R[p][q] / weight), 0.0, 1e-12 * (1 + std::abs(R[p][q] / weight)));
      }

    const double out_scale = scale;  // the last iteration multiplies back
    wiener_stages::update(opt, out_scale, b);
    for (int t = 0; t < frames; ++t)
      for (int f = 0; f < nb; ++f) {
        C64 cxx[2][2] = {{std::sqrt(opt.eps), 0.0}, {0.0, std::sqrt(opt.eps)}};
        for (int j = 0; j < S; ++j)
          for (int p = 0; p < 2; ++p)
            for (int q = 0; q < 2; ++q) cxx[p][q] += b.v[b.vi(j, t) + f] * b.R.at(b.ri(j, p, q) + f);
        const C64 det = cxx[0][0] * cxx[1][1] - cxx[0][1] * cxx[1][0];
        const C64 inv[2][2] = {{cxx[1][1] / det, -cxx[0][1] / det}, {-cxx[1][0] / det, cxx[0][0] / det}};
        C64 sum[2] = {};
        for (int j = 0; j < S; ++j)
          for (int p = 0; p < 2; ++p) {
            C64 want = 0;
            for (int q = 0; q < 2; ++q) {
              C64 gain = 0;
              for (int k = 0; k < 2; ++k) gain += b.R.at(b.ri(j, p, k) + f) * inv[k][q];
              want += b.v[b.vi(j, t) + f] * gain * x(t, q, f);
            }
            want *= out_scale;
            sum[p] += want;
            EXPECT_NEAR(std::abs(y(j, t, p, f) - want), 0.0, 1e-9 * (1 + std::abs(want)));
          }
        // the re-separated sources still sum to the mixture (up to the eps regularization)
        for (int p = 0; p < 2; ++p) EXPECT_NEAR(std::abs(sum[p] - x(t, p, f) * scale), 0.0, 1e-3 * std::abs(x(t, p, f) * scale) + 1e-6);
      }
  }
}

TEST(Wiener, RejectsBadInput) {
  const auto mix = random_spec(2, 4, 5, 9);
  const auto mags = random_magnitudes(1, 2, 4, 5, 10);
  WienerOptions opt;
  EXPECT_THROW(wiener(random_spec(3, 4, 5, 9), view(random_magnitudes(1, 3, 4, 5, 1), 3), opt), Error);
  EXPECT_THROW(wiener(mix, view(mags, 3), opt), Error);
  EXPECT_THROW(wiener(mix, TargetMagnitudes{{}, 2}, opt), Error);
  opt.iterations = -1;
  EXPECT_THROW(wiener(mix, view(mags, 2), opt), Error);
}

}  // namespace
