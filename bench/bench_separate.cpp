// End-to-end separation speed: the default-size model (hidden 512, nfft 4096) with generated weights on
// stereo noise at 44.1 kHz, one target plus residual, niter 1 (and 0), as tools/separate runs it. The CPU
// figures compare with bench/compare_openunmix_cpu.py (openunmix's Separator on the same work).
//   build/bench/unmix_bench_separate [--benchmark_filter=SeparateCpu/30]
// Counter realtime_x: seconds of audio separated per second.
#include <benchmark/benchmark.h>

#include <random>

#include "unmix/gpu/device.h"
#include "unmix/gpu/wiener.h"
#include "unmix/separator.h"
#include "unmix/wiener.h"

using namespace unmix;

namespace {

constexpr int kRate = 44100;

Audio noise(double seconds, std::uint64_t seed) {
  Audio a;
  a.sample_rate = kRate;
  a.channels = 2;
  a.frames = static_cast<std::int64_t>(seconds * kRate);
  a.samples.resize(2 * static_cast<std::size_t>(a.frames));
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-0.5f, 0.5f);
  for (auto& x : a.samples) x = u(rng);
  return a;
}

Separator default_separator(Device device, int niter) {
  ModelConfig config;  // openunmix's defaults: hidden 512, nfft 4096, hop 1024, stereo, 44.1 kHz
  UmxWeights w(config);
  w.init_synthetic(1);
  SeparatorOptions options;
  options.device = device;
  options.niter = niter;
  std::vector<std::unique_ptr<SpectrogramModel>> models;
  models.push_back(device == Device::Cuda ? make_gpu_model(w, 0) : make_cpu_model(std::move(w)));
  return Separator({"guitar"}, std::move(models), options);
}

void separate(benchmark::State& state, Device device) {
  if (device == Device::Cuda) {
    const auto report = gpu::query_devices();
    if (!report.available()) {
      state.SkipWithError(("no usable GPU: " + report.reason).c_str());
      return;
    }
  }
  const double seconds = static_cast<double>(state.range(0));
  const Audio mix = noise(seconds, 7);
  Separator separator = default_separator(device, static_cast<int>(state.range(1)));
  for (auto _ : state) {
    auto sources = separator.separate(mix);
    benchmark::DoNotOptimize(sources.data());
  }
  state.counters["realtime_x"] =
      benchmark::Counter(seconds * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.SetLabel(separator.describe());
}

void BM_SeparateCpu(benchmark::State& state) { separate(state, Device::Cpu); }
// Args: seconds of audio, EM iterations
BENCHMARK(BM_SeparateCpu)->Args({30, 1})->Args({30, 0})->Args({180, 1})->Unit(benchmark::kSecond)->UseRealTime()->Iterations(1);

void BM_SeparateGpu(benchmark::State& state) { separate(state, Device::Cuda); }
BENCHMARK(BM_SeparateGpu)->Args({30, 1})->Args({180, 1})->Unit(benchmark::kSecond)->UseRealTime()->Iterations(1);

// The Wiener filter alone on one 300-frame window of the default STFT: 2 sources (target + residual).
struct WienerInput {
  ComplexSpectrogram mix;
  std::vector<float> magnitude;
  TargetMagnitudes view;
  WienerInput(int frames, std::uint64_t seed) {
    mix.channels = 2;
    mix.frames = frames;
    mix.bins = 2049;
    mix.data.resize(static_cast<std::size_t>(2) * frames * mix.bins);
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> n;
    for (auto& z : mix.data) z = {n(rng), n(rng)};
    magnitude.resize(mix.data.size());
    for (auto& m : magnitude) m = std::abs(n(rng));
    view = TargetMagnitudes{{magnitude.data()}, 2};
  }
};

void wiener_counters(benchmark::State& state, int frames) {
  state.counters["frames/s"] =
      benchmark::Counter(static_cast<double>(frames) * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["audio_s/s"] = benchmark::Counter(static_cast<double>(frames) * 1024.0 / kRate *
                                                       static_cast<double>(state.iterations()),
                                                   benchmark::Counter::kIsRate);
}

void BM_WienerCpu(benchmark::State& state) {
  const int frames = static_cast<int>(state.range(0));
  WienerInput in(frames, 3);
  WienerOptions options;
  options.iterations = static_cast<int>(state.range(1));
  options.residual = true;
  for (auto _ : state) {
    auto s = wiener(in.mix, in.view, options);
    benchmark::DoNotOptimize(s.data());
  }
  wiener_counters(state, frames);
}
BENCHMARK(BM_WienerCpu)->Args({300, 1})->Args({1200, 1})->Args({1200, 0})->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_WienerGpu(benchmark::State& state) {
  const auto report = gpu::query_devices();
  if (!report.available()) {
    state.SkipWithError(("no usable GPU: " + report.reason).c_str());
    return;
  }
  const int frames = static_cast<int>(state.range(0));
  WienerInput in(frames, 3);
  WienerOptions options;
  options.iterations = static_cast<int>(state.range(1));
  options.residual = true;
  gpu::WienerGpu filter(0);
  for (auto _ : state) {
    auto s = filter.run(in.mix, in.view, options);  // includes the host <-> device copies
    benchmark::DoNotOptimize(s.data());
  }
  wiener_counters(state, frames);
}
BENCHMARK(BM_WienerGpu)->Args({300, 1})->Args({1200, 1})->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
