// BSSEval speed: a 3-minute stereo track with 2 sources at 44.1 kHz (museval's defaults: 1 s frames, 512-tap
// filters), the whole evaluation and its stages. bench/compare_museval.py times museval on the same signals.
//   build/bench/unmix_bench_bss_eval --benchmark_filter=Track
#include <benchmark/benchmark.h>

#include <cmath>
#include <map>
#include <random>

#include "unmix/eval/bss_eval.h"
#include "unmix/eval/distortion_filters.h"
#include "unmix/eval/lagged_correlation.h"

using namespace unmix;

namespace {

constexpr int kRate = 44100;

// Two decorrelated stereo sources (lowpassed noise with a tone) and estimates that leak into each other
// and carry some noise of their own: the shape of a real separation result, seeded.
struct Track {
  std::vector<Audio> references, estimates;
};

const Track& track(int seconds) {
  static std::map<int, Track> cache;
  auto [it, fresh] = cache.try_emplace(seconds);
  if (!fresh) return it->second;
  const std::int64_t frames = static_cast<std::int64_t>(seconds) * kRate;
  std::mt19937_64 rng(1234);
  std::normal_distribution<float> gauss(0.f, 0.1f);
  auto stereo = [&] {
    Audio a;
    a.sample_rate = kRate;
    a.channels = 2;
    a.frames = frames;
    a.samples.assign(2 * static_cast<std::size_t>(frames), 0.f);
    return a;
  };
  Track& t = it->second;
  for (int j = 0; j < 2; ++j) {
    Audio s = stereo();
    for (int c = 0; c < 2; ++c) {
      float state = 0;
      for (std::int64_t n = 0; n < frames; ++n) {
        state += (j == 0 ? 0.3f : 0.05f) * (gauss(rng) - state);
        s.channel(c)[n] = state + 0.05f * static_cast<float>(std::sin(0.01 * (j + 1) * static_cast<double>(n)));
      }
    }
    t.references.push_back(std::move(s));
  }
  for (int j = 0; j < 2; ++j) {
    Audio e = stereo();
    for (std::size_t i = 0; i < e.samples.size(); ++i)
      e.samples[i] = t.references[j].samples[i] + 0.2f * t.references[1 - j].samples[i] + 0.1f * gauss(rng);
    t.estimates.push_back(std::move(e));
  }
  return t;
}

void set_audio_counters(benchmark::State& state, double audio_seconds) {
  state.counters["audio_s"] = audio_seconds;
  state.counters["x_realtime"] =
      benchmark::Counter(audio_seconds * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

// The whole museval.evaluate equivalent (v4, 1 s frames) on a 3-minute track.
void BM_Track3min_V4(benchmark::State& state) {
  const Track& t = track(180);
  for (auto _ : state) {
    auto r = eval::bss_eval(t.references, t.estimates);
    benchmark::DoNotOptimize(r.sdr.data());
  }
  set_audio_counters(state, 180);
  state.counters["frames"] = 180;
}
BENCHMARK(BM_Track3min_V4)->Unit(benchmark::kMillisecond)->Iterations(3)->UseRealTime();

// v3 (filters per frame) on 30 s: one 2048 x 2048 solve per frame.
void BM_Track30s_V3(benchmark::State& state) {
  const Track& t = track(30);
  eval::BssEvalOptions o;
  o.framewise_filters = true;
  for (auto _ : state) {
    auto r = eval::bss_eval(t.references, t.estimates, o);
    benchmark::DoNotOptimize(r.sdr.data());
  }
  set_audio_counters(state, 30);
}
BENCHMARK(BM_Track30s_V3)->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();

// Stage: the lagged correlations of 4 reference channels against 8 channels over 3 minutes.
void BM_Stage_Correlations3min(benchmark::State& state) {
  const Track& t = track(180);
  std::vector<const float*> x, y;
  for (const auto& a : t.references)
    for (int c = 0; c < 2; ++c) x.push_back(a.channel(c));
  y = x;
  for (const auto& a : t.estimates)
    for (int c = 0; c < 2; ++c) y.push_back(a.channel(c));
  for (auto _ : state) {
    auto corr = eval::lagged_correlations(x, y, 0, t.references[0].frames, 511);
    benchmark::DoNotOptimize(corr.values.data());
  }
  set_audio_counters(state, 180);
}
BENCHMARK(BM_Stage_Correlations3min)->Unit(benchmark::kMillisecond)->Iterations(3)->UseRealTime();

// Stage: the 2048 x 2048 normal equations (2 sources x 2 channels x 512 taps), 4 right-hand sides;
// argument 0: museval's LU (regularization 0), 1: the default regularized Cholesky.
void BM_Stage_Solve2048(benchmark::State& state) {
  const double regularization = state.range(0) ? eval::BssEvalOptions{}.regularization : 0.0;
  const Track& t = track(30);
  std::vector<const float*> x, y;
  for (const auto& a : t.references)
    for (int c = 0; c < 2; ++c) x.push_back(a.channel(c));
  y = x;
  for (const auto& a : t.estimates)
    for (int c = 0; c < 2; ++c) y.push_back(a.channel(c));
  const auto corr = eval::lagged_correlations(x, y, 0, t.references[0].frames, 511);
  const Eigen::MatrixXd gram = eval::delayed_gram(corr, 0, 4, 512);
  const std::vector<int> cols = {4, 5, 6, 7};
  const Eigen::MatrixXd cross = eval::delayed_cross(corr, 0, 4, cols, 512);
  for (auto _ : state) {
    Eigen::MatrixXd filters = eval::solve_distortion_filters(gram, cross, regularization);
    benchmark::DoNotOptimize(filters.data());
  }
  const double flops = (state.range(0) ? 1.0 / 3.0 : 2.0 / 3.0) * 2048.0 * 2048.0 * 2048.0;
  state.counters["flops"] = benchmark::Counter(flops * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Stage_Solve2048)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->Iterations(3)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
