// Loader throughput: batches of 16 stereo 6 s excerpts at 44.1 kHz with openunmix's augmentations, from a
// memory-mapped cache of synthetic songs made at startup (12 songs x 30 s, written through preprocess).
// "samples/s" counts stereo sample frames delivered per second in the mix (the target comes with them);
// "excerpts/s" divides that by 6 s worth of frames; "samples/cpu_s" is the same per second of process CPU
// time (all threads), the cost per core. Run: build/bench/unmix_bench_loader
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <random>

#include "unmix/audio.h"
#include "unmix/data/loader.h"
#include "unmix/data/preprocess.h"

using namespace unmix;
using namespace unmix::data;
namespace fs = std::filesystem;

namespace {

constexpr int kRate = 44100;
constexpr double kSongSeconds = 30;
constexpr int kSongs = 12;
constexpr double kSeqDur = 6.0;
constexpr int kBatch = 16;

Audio noise(std::uint64_t seed) {
  Audio a;
  a.sample_rate = kRate;
  a.channels = 2;
  a.frames = static_cast<std::int64_t>(kSongSeconds * kRate);
  a.samples.resize(2 * static_cast<std::size_t>(a.frames));
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-0.3f, 0.3f);
  for (auto& x : a.samples) x = u(rng);
  return a;
}

// A MedleyDB-layout corpus (guitar + band stem per song), its manifest and the float32 and int16 caches.
struct BenchCorpus {
  fs::path dir;
  Cache float_cache, int16_cache;

  static Cache build(const fs::path& dir, const Manifest& m, SampleType type) {
    PreprocessOptions p;
    p.sample_type = type;
    p.statistics = false;
    const fs::path out = dir / (type == SampleType::Int16 ? "cache16" : "cache32");
    preprocess(m, dir / "corpus", out, p);
    return Cache::open(out);
  }
  static Manifest make_corpus(const fs::path& dir) {
    for (int i = 0; i < kSongs; ++i) {
      const std::string id = "Song" + std::to_string(i);
      const fs::path track = dir / "corpus" / id;
      fs::create_directories(track / (id + "_STEMS"));
      std::ofstream(track / (id + "_METADATA.yaml"))
          << "artist: Artist" << i << "\nhas_bleed: 'no'\nstems:\n  S01:\n    instrument: acoustic guitar\n"
          << "  S02:\n    instrument: drum set\n";
      write_audio(track / (id + "_STEMS") / (id + "_STEM_01.wav"), noise(2 * static_cast<std::uint64_t>(i)), SampleFormat::Float32);
      write_audio(track / (id + "_STEMS") / (id + "_STEM_02.wav"), noise(2 * static_cast<std::uint64_t>(i) + 1), SampleFormat::Float32);
      write_audio(track / (id + "_MIX.wav"), noise(1000 + static_cast<std::uint64_t>(i)), SampleFormat::Float32);
    }
    ManifestOptions o;
    o.name = "bench";
    o.target_labels = {"acoustic guitar"};
    o.split.valid_fraction = 0;
    o.split.test_fraction = 0;
    return build_manifest(scan_root(dir / "corpus"), o);
  }
  explicit BenchCorpus(const Manifest& m, const fs::path& d)
      : dir(d), float_cache(build(d, m, SampleType::Float32)), int16_cache(build(d, m, SampleType::Int16)) {}
  static BenchCorpus& get() {
    static const fs::path d = fs::temp_directory_path() / ("unmix-bench-loader-" + std::to_string(::getpid()));
    static BenchCorpus corpus(make_corpus(d), d);
    return corpus;
  }
  ~BenchCorpus() { fs::remove_all(dir); }
};

// Process CPU time (all threads), so the cost per core is visible even on a busy machine.
double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

void set_counters(benchmark::State& state, std::int64_t batches, double cpu) {
  const double frames = static_cast<double>(batches) * kBatch * kSeqDur * kRate;
  state.counters["samples/cpu_s"] = frames / cpu;
  state.counters["samples/s"] = benchmark::Counter(frames, benchmark::Counter::kIsRate);
  state.counters["excerpts/s"] = benchmark::Counter(static_cast<double>(batches) * kBatch, benchmark::Counter::kIsRate);
  state.counters["batches/s"] = benchmark::Counter(static_cast<double>(batches), benchmark::Counter::kIsRate);
}

// The threaded loader as a trainer uses it: range(0) workers, range(1) 1 = int16 cache.
void BM_LoaderExcerpts(benchmark::State& state) {
  BenchCorpus& corpus = BenchCorpus::get();
  const Cache& cache = state.range(1) ? corpus.int16_cache : corpus.float_cache;
  LoaderOptions o;
  o.seq_dur = kSeqDur;
  o.batch_size = kBatch;
  o.workers = static_cast<int>(state.range(0));
  o.prefetch = o.workers + 1;
  Loader loader(cache, o);
  std::int64_t batches = 0;
  const double cpu_start = cpu_seconds();
  for (auto _ : state) {
    auto batch = loader.next();
    benchmark::DoNotOptimize((*batch)->mix);
    ++batches;
  }
  set_counters(state, batches, cpu_seconds() - cpu_start);
}
BENCHMARK(BM_LoaderExcerpts)->Args({1, 0})->Args({2, 0})->Args({2, 1})->Unit(benchmark::kMillisecond)->UseRealTime();

// One batch made on the calling thread: the per-core cost.
void BM_MakeExcerptBatch(benchmark::State& state) {
  const Cache& cache = BenchCorpus::get().float_cache;
  LoaderOptions o;
  o.seq_dur = kSeqDur;
  o.batch_size = kBatch;
  const auto tracks = Loader::eligible_tracks(cache, o);
  const std::size_t n = static_cast<std::size_t>(kBatch) * 2 * static_cast<std::size_t>(kSeqDur * kRate);
  std::vector<float> mix(n), target(n);
  std::vector<ExcerptInfo> items;
  std::int64_t batches = 0;
  const double cpu_start = cpu_seconds();
  for (auto _ : state) {
    Loader::make_excerpt_batch(cache, o, tracks, batches, mix.data(), target.data(), items);
    benchmark::DoNotOptimize(mix.data());
    ++batches;
  }
  set_counters(state, batches, cpu_seconds() - cpu_start);
}
BENCHMARK(BM_MakeExcerptBatch)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
