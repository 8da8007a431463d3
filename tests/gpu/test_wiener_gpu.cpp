// The GPU Wiener filter against the CPU reference: every stage kernel against its CPU twin
// (unmix/wiener_stages.h), then the whole filter against unmix::wiener on the same inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>

#include "gpu_test_support.h"
#include "test_support.h"
#include "unmix/error.h"
#include "unmix/gpu/kernels.h"
#include "unmix/gpu/wiener.h"
#include "unmix/wiener.h"
#include "unmix/wiener_stages.h"

namespace {

using namespace unmix;

ComplexSpectrogram random_spec(int channels, int frames, int bins, std::uint64_t seed, double amplitude) {
  ComplexSpectrogram s;
  s.channels = channels;
  s.frames = frames;
  s.bins = bins;
  s.data.resize(static_cast<std::size_t>(channels) * frames * bins);
  const auto v = test::random_vector<float>(2 * s.data.size(), seed, -amplitude, amplitude);
  for (std::size_t i = 0; i < s.data.size(); ++i) s.data[i] = {v[2 * i], v[2 * i + 1]};
  return s;
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

struct Case {
  const char* name;
  int channels, magnitude_channels, targets, frames, bins, iterations, window;
  bool softmask, residual;
  double amplitude;
};

std::vector<float> interleaved(const std::vector<gpu::Complex>& v) {
  std::vector<float> out;
  out.reserve(2 * v.size());
  for (const auto& z : v) out.insert(out.end(), {z.re, z.im});
  return out;
}

// The CPU stages over every (window, block of bins), gathered into the GPU's layouts.
struct CpuStages {
  const ComplexSpectrogram& mix;
  const TargetMagnitudes& magnitudes;
  const WienerOptions& options;
  int sources, window, windows;
  std::vector<wiener_stages::Block> blocks;
  std::vector<double> scales;  // per window

  CpuStages(const ComplexSpectrogram& m, const TargetMagnitudes& mags, const WienerOptions& o, int s)
      : mix(m), magnitudes(mags), options(o), sources(s) {
    window = o.window_frames > 0 ? o.window_frames : m.frames;
    windows = (m.frames + window - 1) / window;
    const int per_window = (m.bins + wiener_stages::kBlockBins - 1) / wiener_stages::kBlockBins;
    for (int w = 0; w < windows; ++w) {
      const int first = w * window, count = std::min(m.frames, first + window) - first;
      scales.push_back(o.iterations > 0
                           ? wiener_stages::window_scale(wiener_stages::window_peak(m, first, count), o.scale_factor)
                           : 1.0);
      for (int b = 0; b < per_window; ++b) {
        const int bin0 = b * wiener_stages::kBlockBins;
        blocks.emplace_back();
        blocks.back().shape(m.channels, static_cast<int>(mags.targets.size()), s, first, count, bin0,
                            std::min(wiener_stages::kBlockBins, m.bins - bin0));
      }
    }
  }
  double scale_of(const wiener_stages::Block& b) const { return scales[static_cast<std::size_t>(b.first / window)]; }

  std::vector<float> sources_layout() const {  // [sources][channels][frames][bins]
    std::vector<float> out(2 * static_cast<std::size_t>(sources) * mix.channels * mix.frames * mix.bins);
    for (const auto& b : blocks)
      for (int j = 0; j < sources; ++j)
        for (int c = 0; c < mix.channels; ++c)
          for (int t = 0; t < b.frames; ++t)
            for (int f = 0; f < b.bins; ++f) {
              const auto z = b.y.at(b.yi(j, t, c) + f);
              const std::size_t i = ((static_cast<std::size_t>(j) * mix.channels + c) * mix.frames + b.first + t) *
                                        mix.bins + b.bin0 + f;
              out[2 * i] = static_cast<float>(z.real());
              out[2 * i + 1] = static_cast<float>(z.imag());
            }
    return out;
  }
  std::vector<float> power_layout() const {  // [sources][frames][bins]
    std::vector<float> out(static_cast<std::size_t>(sources) * mix.frames * mix.bins);
    for (const auto& b : blocks)
      for (int j = 0; j < sources; ++j)
        for (int t = 0; t < b.frames; ++t)
          for (int f = 0; f < b.bins; ++f)
            out[(static_cast<std::size_t>(j) * mix.frames + b.first + t) * mix.bins + b.bin0 + f] =
                static_cast<float>(b.v[b.vi(j, t) + f]);
    return out;
  }
  std::vector<float> covariance_layout() const {  // [sources][windows][bins][channels * channels]
    const int C = mix.channels;
    std::vector<float> out(2 * static_cast<std::size_t>(sources) * windows * mix.bins * C * C);
    for (const auto& b : blocks)
      for (int j = 0; j < sources; ++j)
        for (int p = 0; p < C; ++p)
          for (int q = 0; q < C; ++q)
            for (int f = 0; f < b.bins; ++f) {
              const auto z = b.R.at(b.ri(j, p, q) + f);
              const std::size_t i =
                  ((static_cast<std::size_t>(j) * windows + b.first / window) * mix.bins + b.bin0 + f) * C * C +
                  p * C + q;
              out[2 * i] = static_cast<float>(z.real());
              out[2 * i + 1] = static_cast<float>(z.imag());
            }
    return out;
  }
};

TEST(WienerGpu, EveryStageMatchesItsCpuTwin) {
  UNMIX_REQUIRE_GPU();
  const Case cases[] = {
      {"stereo loud, 2 windows + partial", 2, 2, 2, 93, 77, 2, 40, false, true, 200.0},
      {"mono softmask", 1, 1, 2, 50, 40, 1, 0, true, true, 30.0},
      {"mono model on stereo", 2, 1, 1, 45, 33, 1, 20, false, true, 1.0},
  };
  const cudaStream_t stream = nullptr;  // every copy and launch in order on the legacy stream
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const auto mix = random_spec(c.channels, c.frames, c.bins, 31, c.amplitude);
    std::vector<float> mags;
    for (int j = 0; j < c.targets; ++j) {
      const auto m = test::random_vector<float>(static_cast<std::size_t>(c.frames) * c.magnitude_channels * c.bins,
                                                200 + j, 0.0, c.amplitude);
      mags.insert(mags.end(), m.begin(), m.end());
    }
    TargetMagnitudes view;
    view.channels = c.magnitude_channels;
    const std::size_t block = static_cast<std::size_t>(c.frames) * c.magnitude_channels * c.bins;
    for (int j = 0; j < c.targets; ++j) view.targets.push_back(mags.data() + block * j);
    WienerOptions opt;
    opt.iterations = c.iterations;
    opt.softmask = c.softmask;
    opt.residual = c.residual;
    opt.window_frames = c.window;
    const int S = wiener_source_count(c.targets, opt);
    CpuStages cpu(mix, view, opt, S);

    std::vector<gpu::Complex> mix_host(mix.data.size());
    for (std::size_t i = 0; i < mix.data.size(); ++i) mix_host[i] = {mix.data[i].real(), mix.data[i].imag()};
    auto d_mix = test::to_device(mix_host, stream);
    auto d_mags = test::to_device(mags, stream);
    auto d_sources = test::poisoned<gpu::Complex>(static_cast<std::size_t>(S) * mix.data.size(), stream);
    auto d_power = test::poisoned<float>(static_cast<std::size_t>(S) * c.frames * c.bins, stream);
    auto d_cov = test::poisoned<gpu::Complex>(
        static_cast<std::size_t>(S) * cpu.windows * c.bins * c.channels * c.channels, stream);
    gpu::DeviceBuffer<unsigned int> d_peak(static_cast<std::size_t>(cpu.windows));
    d_peak.zero(stream);
    gpu::WienerArgs a;
    a.mix = d_mix.data();
    a.magnitudes = d_mags.data();
    a.sources = d_sources.data();
    a.power = d_power.data();
    a.covariance = d_cov.data();
    a.peak = d_peak.data();
    a.channels = c.channels;
    a.frames = c.frames;
    a.bins = c.bins;
    a.targets = c.targets;
    a.sources_count = S;
    a.magnitude_channels = c.magnitude_channels;
    a.window = cpu.window;
    a.windows = cpu.windows;
    a.softmask = c.softmask;
    a.residual = c.residual;
    a.scaled = true;

    gpu::launch_wiener_peak(a, stream);
    const auto peak_bits = d_peak.download(stream);
    for (int w = 0; w < cpu.windows; ++w) {
      float peak;
      std::memcpy(&peak, &peak_bits[w], sizeof peak);
      const int first = w * cpu.window, count = std::min(c.frames, first + cpu.window) - first;
      EXPECT_NEAR(peak, wiener_stages::window_peak(mix, first, count), 1e-6 * peak) << "peak of window " << w;
    }

    gpu::launch_wiener_initial_estimates(a, stream);
    for (auto& b : cpu.blocks) wiener_stages::initial_estimates(mix, view, opt, cpu.scale_of(b), b);
    double err = test::rel_error(interleaved(d_sources.download(stream)), cpu.sources_layout());
    std::printf("  %-34s initial estimates      rel. error %.2e\n", c.name, err);
    EXPECT_LT(err, 1e-5);
    for (int it = 0; it < c.iterations; ++it) {
      const bool last = it + 1 == c.iterations;
      gpu::launch_wiener_covariance(a, stream);
      for (auto& b : cpu.blocks) wiener_stages::covariance(opt, b);
      err = test::rel_error(d_power.download(stream), cpu.power_layout());
      std::printf("  %-34s power, iteration %d    rel. error %.2e\n", c.name, it + 1, err);
      EXPECT_LT(err, 1e-5);
      err = test::rel_error(interleaved(d_cov.download(stream)), cpu.covariance_layout());
      std::printf("  %-34s covariance, iteration %d rel. error %.2e\n", c.name, it + 1, err);
      EXPECT_LT(err, 1e-5);
      gpu::launch_wiener_update(a, last, stream);
      for (auto& b : cpu.blocks) wiener_stages::update(opt, last ? cpu.scale_of(b) : 1.0, b);
      err = test::rel_error(interleaved(d_sources.download(stream)), cpu.sources_layout());
      std::printf("  %-34s update, iteration %d   rel. error %.2e\n", c.name, it + 1, err);
      EXPECT_LT(err, 1e-4);
    }
  }
}

TEST(WienerGpu, MatchesCpuReference) {
  UNMIX_REQUIRE_GPU();
  const Case cases[] = {
      {"stereo ratio niter0", 2, 2, 1, 50, 129, 0, 300, false, true, 1.0},
      {"stereo ratio niter1", 2, 2, 1, 700, 2049, 1, 300, false, true, 1.0},  // three windows, the last partial
      {"stereo loud niter2", 2, 2, 2, 130, 257, 2, 40, false, true, 200.0},  // per-window scaling
      {"stereo softmask niter3", 2, 2, 3, 90, 257, 3, 30, true, false, 1.0},
      {"mono niter1", 1, 1, 1, 120, 257, 1, 50, false, true, 3.0},
      {"mono model on stereo", 2, 1, 2, 64, 257, 2, 0, false, true, 1.0},
  };
  gpu::WienerGpu filter(0);
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const auto mix = random_spec(c.channels, c.frames, c.bins, 17, c.amplitude);
    std::vector<std::vector<float>> mags;
    TargetMagnitudes view;
    view.channels = c.magnitude_channels;
    for (int j = 0; j < c.targets; ++j)
      mags.push_back(test::random_vector<float>(static_cast<std::size_t>(c.frames) * c.magnitude_channels * c.bins,
                                                100 + j, 0.0, c.amplitude));
    for (const auto& m : mags) view.targets.push_back(m.data());
    WienerOptions opt;
    opt.iterations = c.iterations;
    opt.softmask = c.softmask;
    opt.residual = c.residual;
    opt.window_frames = c.window;
    const auto cpu = flat(wiener(mix, view, opt));
    const auto gpu = flat(filter.run(mix, view, opt));  // buffers reused across cases of different sizes
    for (float x : gpu) ASSERT_TRUE(std::isfinite(x)) << "an output element was not written";
    const double err = test::rel_error(gpu, cpu);
    std::printf("  %-24s GPU vs CPU relative error %.2e\n", c.name, err);
    EXPECT_LT(err, 1e-4);
  }
}

TEST(WienerGpu, RejectsBadInput) {
  UNMIX_REQUIRE_GPU();
  gpu::WienerGpu filter(0);
  const auto mix = random_spec(2, 4, 5, 1, 1.0);
  std::vector<float> m(4 * 3 * 5, 1.f);
  TargetMagnitudes view{{m.data()}, 3};
  EXPECT_THROW(filter.run(mix, view, WienerOptions{}), Error);
}

}  // namespace
