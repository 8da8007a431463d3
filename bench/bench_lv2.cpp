// LV2 effects on a 30 s stereo stem at 44.1 kHz, one thread, fresh instances per stem as the corpus makes
// them: a typical guitar chain (gate -> amp -> cabinet -> EQ -> reverb), and every vetted plugin alone.
// Counter "realtime_x" is seconds of stem processed per second of wall time on one core.
// guitarix prints "mlock ..." lines to stdout when it instantiates; --benchmark_out keeps the results apart.
#include <benchmark/benchmark.h>

#include <cmath>
#include <numbers>
#include <string>
#include <vector>

#include "unmix/audio.h"
#include "unmix/fx/lv2.h"
#include "unmix/fx/vetted_plugins.h"

using namespace unmix;
using namespace unmix::fx;

namespace {

constexpr double kSeconds = 30.0;
constexpr int kRate = 44100;

// Plucked notes with decaying harmonics, a different melody per channel.
const Audio& stem() {
  static const Audio audio = [] {
    Audio a;
    a.sample_rate = kRate;
    a.channels = 2;
    a.frames = static_cast<std::int64_t>(kSeconds * kRate);
    a.samples.resize(static_cast<std::size_t>(a.channels * a.frames));
    const double notes[] = {82.4, 110.0, 146.8, 196.0, 246.9, 329.6};
    for (int c = 0; c < a.channels; ++c)
      for (std::int64_t t = 0; t < a.frames; ++t) {
        const double time = static_cast<double>(t) / kRate;
        const int n = static_cast<int>(time / 0.5);
        const double s = time - 0.5 * n;
        double v = 0;
        for (int h = 1; h <= 8; ++h)
          v += std::sin(2 * std::numbers::pi * notes[(n * 7 + c) % 6] * h * s) * std::exp(-s * (4.0 + h)) / h;
        a.channel(c)[t] = static_cast<float>(0.4 * v);
      }
    return a;
  }();
  return audio;
}

struct Stage {
  const char* uri;
  std::vector<std::pair<const char*, float>> settings;
};

const std::vector<Stage>& guitar_chain() {
  static const std::vector<Stage> chain = {
      {"http://lsp-plug.in/plugins/lv2/gate_stereo", {{"gt", 0.01f}}},
      {"http://guitarix.sourceforge.net/plugins/gx_amp#GUITARIX", {{"PreGain", 6}, {"Drive", 0.6f}, {"model", 6}, {"t_model", 4}}},
      {"http://guitarix.sourceforge.net/plugins/gx_cabinet#CABINET", {{"c_model", 8}}},
      {"http://lsp-plug.in/plugins/lv2/para_equalizer_x16_stereo", {{"ft_0", 1}, {"f_0", 3000}, {"g_0", 1.4f}, {"q_0", 1}}},
      {"http://guitarix.sourceforge.net/plugins/gx_zita_rev1_stereo#_zita_rev1_stereo", {{"DRY_WET_MIX", -0.5f}}},
  };
  return chain;
}

void BM_GuitarChain(benchmark::State& state) {
  for (auto _ : state) {
    Audio a = stem();
    for (const Stage& stage : guitar_chain()) {
      Lv2Effect fx(stage.uri, kRate, a.channels);
      for (const auto& [symbol, value] : stage.settings) fx.set(symbol, value);
      fx.run(a);
    }
    benchmark::DoNotOptimize(a.samples.data());
  }
  state.counters["realtime_x"] = benchmark::Counter(kSeconds * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_GuitarChain)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_VettedPlugin(benchmark::State& state) {
  const VettedPlugin& p = vetted_plugins()[static_cast<std::size_t>(state.range(0))];
  const std::string uri(p.uri);
  if (!lv2_world().has(uri)) return state.SkipWithError("plugin not installed (scripts/install-deps.sh)");
  state.SetLabel(uri);
  int latency = 0, instances = 0;
  for (auto _ : state) {
    Audio a = stem();
    Lv2Effect fx(uri, kRate, a.channels);
    fx.run(a);
    latency = fx.latency();
    instances = fx.instances();
    benchmark::DoNotOptimize(a.samples.data());
  }
  state.counters["realtime_x"] = benchmark::Counter(kSeconds * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["latency"] = latency;
  state.counters["instances"] = instances;
}
BENCHMARK(BM_VettedPlugin)
    ->DenseRange(0, static_cast<int>(vetted_plugins().size()) - 1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
