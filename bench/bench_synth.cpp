// Synthetic corpus speed: composing, rendering one 30 s song stem by stem per soundfont, and the whole
// generator (renders, LV2 channel strips, mix, mastering, writing) with the plugins off and on. Counter
// "realtime" is seconds of song made per second of wall time, one thread.
#include <benchmark/benchmark.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <unistd.h>

#include "unmix/synth/corpus.h"
#include "unmix/synth/midi_events.h"
#include "unmix/synth/mixdown.h"
#include "unmix/synth/render.h"
#include "unmix/synth/song_plan.h"
#include "unmix/synth/soundfonts.h"

using namespace unmix;
using namespace unmix::synth;

namespace {

constexpr double kSeconds = 30.0;

// One font per set, loaded once for all benchmarks.
const SoundfontSet& font_set(std::size_t index) {
  static std::vector<std::unique_ptr<SoundfontSet>> sets = [] {
    std::vector<std::unique_ptr<SoundfontSet>> v;
    for (const auto& path : installed_gm_soundfonts()) v.push_back(std::make_unique<SoundfontSet>(std::vector{path}));
    return v;
  }();
  return *sets.at(index);
}

std::size_t font_count() { return installed_gm_soundfonts().size(); }

void BM_ComposeAndNotes(benchmark::State& state) {
  if (font_count() == 0) return state.SkipWithError("no GM soundfont installed");
  const SoundfontSet& fonts = font_set(0);
  int index = 0;
  std::size_t notes = 0;
  for (auto _ : state) {
    const SongPlan plan = compose_song({1, kSeconds, 44100, {}}, fonts, index++);
    for (std::size_t p = 0; p < plan.parts.size(); ++p) notes += part_notes(plan, p).size();
  }
  state.counters["songs/s"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["notes/song"] = static_cast<double>(notes) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_ComposeAndNotes)->Unit(benchmark::kMillisecond);

// Every stem of a 30 s song rendered with one font, as the corpus does (a new synth per stem).
void BM_RenderSong(benchmark::State& state) {
  const auto f = static_cast<std::size_t>(state.range(0));
  if (f >= font_count()) return state.SkipWithError("fewer soundfonts installed");
  const SoundfontSet& fonts = font_set(f);
  state.SetLabel(fonts.name(0));
  int index = 0;
  std::size_t stems = 0;
  for (auto _ : state) {
    const SongPlan plan = compose_song({2, kSeconds, 44100, {}}, fonts, index++ % 8);
    for (std::size_t p = 0; p < plan.parts.size(); ++p) benchmark::DoNotOptimize(render_part(fonts, plan, p));
    stems += plan.parts.size();
  }
  const double iterations = static_cast<double>(state.iterations());
  state.counters["realtime"] = benchmark::Counter(iterations * kSeconds, benchmark::Counter::kIsRate);
  state.counters["stems/song"] = static_cast<double>(stems) / iterations;
}
BENCHMARK(BM_RenderSong)->DenseRange(0, 3)->Unit(benchmark::kMillisecond)->UseRealTime();

// The whole generator on one thread: compose, render, the channel strips (LV2 chains when on), mix,
// master and write, for 30 s songs. Arg: plugins (0 off, 1 on). Counter realtime: seconds of song per second
// on one core.
void BM_GenerateSong(benchmark::State& state) {
  if (font_count() == 0) return state.SkipWithError("no GM soundfont installed");
  const SoundfontSet& fonts = font_set(0);
  const bool plugins = state.range(0) != 0;
  state.SetLabel(plugins ? "plugins and mastering" : "FluidSynth renders, no mastering");
  const auto dir = std::filesystem::temp_directory_path() / ("unmix-bench-synth-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  int index = 0;
  double place_seconds = 0;
  for (auto _ : state) {
    ComposeOptions options{4, kSeconds, 44100, {}, plugins, plugins};
    const SongPlan plan = compose_song(options, fonts, index++ % 8);
    std::vector<PlacedStem> stems;
    for (std::size_t p = 0; p < plan.parts.size(); ++p) {
      Audio render = render_part(fonts, plan, p);
      const auto t0 = std::chrono::steady_clock::now();
      stems.push_back(place_stem(plan, p, std::move(render)));
      place_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    std::filesystem::remove_all(dir / plan.track_id);
    write_song(dir / plan.track_id, plan, fonts, std::move(stems));
  }
  std::filesystem::remove_all(dir);
  const double songs = static_cast<double>(state.iterations());
  state.counters["realtime"] = benchmark::Counter(songs * kSeconds, benchmark::Counter::kIsRate);
  state.counters["strip_s/song"] = place_seconds / songs;  // channel strips (plugins) per song
}
BENCHMARK(BM_GenerateSong)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(5.0);

}  // namespace

BENCHMARK_MAIN();
