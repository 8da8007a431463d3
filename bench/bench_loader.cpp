// Loader throughput: batches of 16 stereo 6 s excerpts at 44.1 kHz with openunmix's augmentations, from a
// memory-mapped cache of synthetic music-like songs made at startup (12 songs x 30 s, written through preprocess).
// "samples/s" counts stereo sample frames delivered per second in the mix (the target comes with them);
// "excerpts/s" divides that by 6 s worth of frames; "samples/cpu_s" is the same per second of process CPU
// time (all threads), the cost per core; "batches/cpu_s" is batches per second of CPU time (what one free
// core sustains) and "x_realtime" the seconds of excerpt audio delivered per second.
// The input augmentations (mono, tilt, resample, codec) are measured one at a time at probability 1 and in a
// realistic mix, on the calling thread (per-core cost) and in the threaded loader with the trainer's default
// 4 workers, so the margin over a GPU step (~50-150 ms per batch of 16 x 6 s) can be read off.
// Run: build/bench/unmix_bench_loader
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <numbers>
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

// Music-like stems (the codecs' speed depends on the material; white noise is their slowest case): decaying
// harmonic notes every 0.1-0.3 s, 80-1000 Hz fundamentals, panned, over a quiet noise floor.
Audio song_like(std::uint64_t seed) {
  Audio a;
  a.sample_rate = kRate;
  a.channels = 2;
  a.frames = static_cast<std::int64_t>(kSongSeconds * kRate);
  a.samples.resize(2 * static_cast<std::size_t>(a.frames));
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (auto& x : a.samples) x = static_cast<float>(0.01 * (2 * u(rng) - 1));
  const double two_pi = 2 * std::numbers::pi;
  for (double at = 0; at < kSongSeconds; at += 0.1 + 0.2 * u(rng)) {
    const double f0 = 80 + 920 * u(rng), pan = u(rng);
    const auto start = static_cast<std::int64_t>(at * kRate);
    const auto length = std::min<std::int64_t>(kRate / 2, a.frames - start);
    // Each harmonic is a rotating phasor (one complex multiply per sample instead of a sine), decaying.
    std::complex<double> phase[6], step[6];
    for (int h = 0; h < 6; ++h) {
      phase[h] = 1.0 / (h + 1);
      step[h] = std::polar(std::exp(-6.0 / kRate), two_pi * f0 * (h + 1) / kRate);
    }
    for (std::int64_t i = 0; i < length; ++i) {
      double v = 0;
      for (int h = 0; h < 6; ++h) {
        v += phase[h].imag();
        phase[h] *= step[h];
      }
      v *= 0.15;
      a.samples[static_cast<std::size_t>(start + i)] += static_cast<float>((1 - pan) * v);
      a.samples[static_cast<std::size_t>(a.frames + start + i)] += static_cast<float>(pan * v);
    }
  }
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
      write_audio(track / (id + "_STEMS") / (id + "_STEM_01.wav"), song_like(2 * static_cast<std::uint64_t>(i)), SampleFormat::Float32);
      write_audio(track / (id + "_STEMS") / (id + "_STEM_02.wav"), song_like(2 * static_cast<std::uint64_t>(i) + 1), SampleFormat::Float32);
      write_audio(track / (id + "_MIX.wav"), song_like(1000 + static_cast<std::uint64_t>(i)), SampleFormat::Float32);
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
  state.counters["batches/cpu_s"] = static_cast<double>(batches) / cpu;
  state.counters["x_realtime"] =
      benchmark::Counter(static_cast<double>(batches) * kBatch * kSeqDur, benchmark::Counter::kIsRate);
}

// The input augmentation settings measured: 0 none, 1 mono, 2 tilt, 3 resample, 4 mp3, 5 vorbis, 6 opus (each at
// probability 1), 7 a realistic mix (codec 0.3 over the three codecs, resample 0.2, tilt 0.5, mono 0.05).
constexpr int kAugmentSettings = 8;
const char* const kAugmentNames[kAugmentSettings] = {"none",   "mono", "tilt", "resample48k",
                                                     "mp3",    "vorbis", "opus", "realistic"};

LoaderOptions augmented(int setting) {
  LoaderOptions o;
  o.seq_dur = kSeqDur;
  o.batch_size = kBatch;
  switch (setting) {
    case 1: o.mono_probability = 1; break;
    case 2: o.tilt_probability = 1; break;
    case 3: o.resample_probability = 1; break;
    case 4:
      o.codec_probability = 1;
      o.codecs = {Codec::Mp3};
      break;
    case 5:
      o.codec_probability = 1;
      o.codecs = {Codec::Vorbis};
      break;
    case 6:
      o.codec_probability = 1;
      o.codecs = {Codec::Opus};
      break;
    case 7:
      o.codec_probability = 0.3;
      o.resample_probability = 0.2;
      o.tilt_probability = 0.5;
      o.mono_probability = 0.05;
      break;
    default: break;
  }
  return o;
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

// One augmented batch on the calling thread: range(0) the setting. The per-core cost of each augmentation.
void BM_AugmentedBatch(benchmark::State& state) {
  const Cache& cache = BenchCorpus::get().float_cache;
  const LoaderOptions o = augmented(static_cast<int>(state.range(0)));
  state.SetLabel(kAugmentNames[state.range(0)]);
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
BENCHMARK(BM_AugmentedBatch)
    ->DenseRange(0, kAugmentSettings - 1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(2.0);

// The threaded loader with augmentations and the trainer's default 4 workers: range(0) the setting. On a machine
// with fewer free cores than workers the wall figures show the cores, not the loader.
void BM_LoaderAugmented(benchmark::State& state) {
  const Cache& cache = BenchCorpus::get().float_cache;
  LoaderOptions o = augmented(static_cast<int>(state.range(0)));
  state.SetLabel(kAugmentNames[state.range(0)]);
  o.workers = 4;
  o.prefetch = 4;  // as the trainer: max(2, workers)
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
BENCHMARK(BM_LoaderAugmented)->Arg(0)->Arg(7)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(4.0);

}  // namespace

BENCHMARK_MAIN();
