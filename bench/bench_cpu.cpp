// CPU reference throughput: STFT/ISTFT and the Open-Unmix forward on 30 s of stereo audio at 44.1 kHz,
// plus one training step and its non-finite check. Run: build/bench/unmix_bench_cpu [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <random>

#include "unmix/cpu/non_finite.h"
#include "unmix/stft.h"
#include "unmix/umx_cpu.h"

using namespace unmix;

namespace {

constexpr int kRate = 44100;

double iters(const benchmark::State& state) { return static_cast<double>(state.iterations()); }

std::vector<float> noise(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-0.5f, 0.5f);
  std::vector<float> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

// Multiply-adds x2 of one forward column (one frame of one batch item).
double forward_flop_per_frame(const ModelConfig& c) {
  const double H = c.hidden_size, Hl = c.lstm_hidden();
  double flop = 2.0 * H * c.input_features();  // fc1
  for (int layer = 0; layer < c.nb_layers; ++layer) flop += 2 * 2.0 * 4 * Hl * (H + Hl);  // 2 directions
  flop += 2.0 * H * 2 * H;                    // fc2
  flop += 2.0 * c.output_features() * H;      // fc3
  return flop;
}

void BM_StftForward(benchmark::State& state) {
  const bool center = state.range(1) != 0;
  const std::int64_t length = state.range(0) * kRate;
  const auto audio = noise(2 * static_cast<std::size_t>(length), 1);
  Stft stft(4096, 1024);
  int frames = 0;
  for (auto _ : state) {
    auto spec = stft.forward(audio.data(), 2, length, center);
    frames = spec.frames;
    benchmark::DoNotOptimize(spec.data.data());
  }
  state.counters["frames/s"] = benchmark::Counter(static_cast<double>(frames) * iters(state), benchmark::Counter::kIsRate);
  state.counters["audio_s/s"] = benchmark::Counter(static_cast<double>(state.range(0)) * iters(state), benchmark::Counter::kIsRate);
  state.counters["bytes/s"] = benchmark::Counter(8.0 * static_cast<double>(length) * iters(state),
                                                 benchmark::Counter::kIsRate, benchmark::Counter::kIs1024);
}
BENCHMARK(BM_StftForward)->Args({30, 1})->Args({30, 0})->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_IstftCentered(benchmark::State& state) {
  const std::int64_t length = state.range(0) * kRate;
  const auto audio = noise(2 * static_cast<std::size_t>(length), 2);
  Stft stft(4096, 1024);
  const auto spec = stft.forward(audio.data(), 2, length, true);
  std::vector<float> out(audio.size());
  for (auto _ : state) {
    stft.inverse(spec, true, length, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["frames/s"] = benchmark::Counter(static_cast<double>(spec.frames) * iters(state), benchmark::Counter::kIsRate);
  state.counters["audio_s/s"] = benchmark::Counter(static_cast<double>(state.range(0)) * iters(state), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_IstftCentered)->Arg(30)->Unit(benchmark::kMillisecond)->UseRealTime();

// The default model (hidden 512, 2049 bins, max_bin 1487) in eval mode on 30 s of stereo audio.
void BM_UmxForwardEval(benchmark::State& state) {
  ModelConfig config;
  UmxWeights w(config);
  w.init_synthetic(1);
  UmxCpu model(w);
  Stft stft(config.nfft, config.nhop);
  const std::int64_t length = state.range(0) * kRate;
  const auto audio = noise(2 * static_cast<std::size_t>(length), 3);
  const auto spec = stft.forward(audio.data(), 2, length, true);
  std::vector<float> mix(static_cast<std::size_t>(spec.frames) * 2 * config.nb_bins), out(mix.size());
  magnitude_frame_major(spec, 1, 0, mix.data());
  for (auto _ : state) {
    model.forward(mix.data(), spec.frames, 1, Mode::Eval, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  const double frames = static_cast<double>(spec.frames) * iters(state);
  state.counters["frames/s"] = benchmark::Counter(frames, benchmark::Counter::kIsRate);
  state.counters["FLOP/s"] = benchmark::Counter(frames * forward_flop_per_frame(config), benchmark::Counter::kIsRate,
                                                benchmark::Counter::kIs1000);
  state.counters["realtime_x"] = benchmark::Counter(static_cast<double>(state.range(0)) * iters(state),
                                                    benchmark::Counter::kIsRate);
}
BENCHMARK(BM_UmxForwardEval)->Arg(30)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

// One training step (forward, MSE, backward, Adam) of the default model: batch of state.range(0) excerpts
// of state.range(1) seconds, without the STFT.
void BM_UmxTrainStep(benchmark::State& state) {
  ModelConfig config;
  UmxWeights w(config);
  w.init_random(1);
  UmxCpu model(w);
  const int batch = static_cast<int>(state.range(0));
  const int frames = static_cast<int>(1 + (state.range(1) * kRate - config.nfft) / config.nhop);
  const std::size_t count = static_cast<std::size_t>(frames) * batch * 2 * config.nb_bins;
  auto mix = noise(count, 4);
  for (auto& v : mix) v = std::abs(v);
  std::vector<float> target(mix.size());
  for (std::size_t i = 0; i < mix.size(); ++i) target[i] = 0.3f * mix[i];
  cpu::AdamState adam;
  cpu::AdamOptions opt;
  std::vector<float> grads, scratch;
  for (auto _ : state) benchmark::DoNotOptimize(train_step(model, mix.data(), target.data(), frames, batch, grads, adam, opt, scratch));
  const double columns = static_cast<double>(frames) * batch * iters(state);
  state.counters["frames/s"] = benchmark::Counter(columns, benchmark::Counter::kIsRate);
  // backward costs about twice the forward's multiply-adds
  state.counters["FLOP/s"] = benchmark::Counter(3 * columns * forward_flop_per_frame(config), benchmark::Counter::kIsRate,
                                                benchmark::Counter::kIs1000);
}
BENCHMARK(BM_UmxTrainStep)->Args({2, 6})->Unit(benchmark::kMillisecond)->UseRealTime();

// The trainer's per-step check: NaN/Inf scans of the default model's parameters and gradients after Adam.
void BM_NonFiniteScanPerStep(benchmark::State& state) {
  ModelConfig config;
  UmxWeights w(config);
  w.init_random(1);
  const auto grads = noise(w.table.trainable_size(), 5);
  for (auto _ : state)
    benchmark::DoNotOptimize(cpu::count_non_finite(w.values.data(), w.values.size()) +
                             cpu::count_non_finite(grads.data(), grads.size()));
  const double bytes = static_cast<double>((w.values.size() + grads.size()) * sizeof(float));
  state.counters["bytes/s"] =
      benchmark::Counter(bytes * iters(state), benchmark::Counter::kIsRate, benchmark::Counter::kIs1024);
}
BENCHMARK(BM_NonFiniteScanPerStep)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
