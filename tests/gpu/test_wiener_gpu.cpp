// The GPU Wiener filter against the CPU reference (unmix::wiener) on the same inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "test_support.h"
#include "unmix/error.h"
#include "unmix/gpu/device.h"
#include "unmix/gpu/wiener.h"
#include "unmix/wiener.h"

namespace {

using namespace unmix;

#define REQUIRE_GPU()                                                            \
  do {                                                                           \
    const auto report = gpu::query_devices();                                    \
    if (!report.available()) GTEST_SKIP() << "no usable GPU: " << report.reason; \
  } while (0)

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

TEST(WienerGpu, MatchesCpuReference) {
  REQUIRE_GPU();
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
  REQUIRE_GPU();
  gpu::WienerGpu filter(0);
  const auto mix = random_spec(2, 4, 5, 1, 1.0);
  std::vector<float> m(4 * 3 * 5, 1.f);
  TargetMagnitudes view{{m.data()}, 3};
  EXPECT_THROW(filter.run(mix, view, WienerOptions{}), Error);
}

}  // namespace
