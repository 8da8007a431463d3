// Scaling of data-parallel training: tools/train under `mpirun -np N` on a synthetic corpus, one epoch of a
// fixed global batch; reports training samples per second (history.jsonl, training steps only: no start-up,
// no validation) and the scaling efficiency against 1 rank, rate(N) / (N x rate(1)).
//   OMP_NUM_THREADS=1 build/bench/unmix_bench_data_parallel           # CPU ranks, one thread each
//   UNMIX_BENCH_DEVICE=cuda build/bench/unmix_bench_data_parallel --benchmark_filter='/[12]$'   # GPUs
// Ranks beyond the machine's cores (or GPUs) measure oversubscription, not scaling.
#include <benchmark/benchmark.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "../tests/cpu/test_train_corpus.h"

namespace fs = std::filesystem;

namespace {

fs::path build_dir() { return fs::read_symlink("/proc/self/exe").parent_path().parent_path(); }

// The corpus, its cache and the runs live in a temporary directory removed at exit.
struct BenchDir {
  fs::path dir = fs::temp_directory_path() / ("unmix-bench-dp-" + std::to_string(::getpid()));
  ~BenchDir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

const fs::path& corpus_cache() {
  static const BenchDir bench_dir;
  static const fs::path cache = [] {
    const auto manifest = unmix::test::write_corpus(bench_dir.dir / "corpus", 9, 1, 6.0);  // 8 train tracks
    unmix::test::write_corpus_cache(manifest, bench_dir.dir / "corpus", bench_dir.dir / "cache");
    return bench_dir.dir / "cache";
  }();
  return cache;
}

int run(const std::vector<std::string>& argv) {
  const pid_t pid = fork();
  if (pid == 0) {
    ::setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    ::setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    ::setenv("OMPI_MCA_rmaps_base_oversubscribe", "1", 1);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

void BM_DataParallelTrainEpoch(benchmark::State& state) {
  static std::map<std::string, double> one_rank;  // device -> samples/s of 1 rank
  const int ranks = static_cast<int>(state.range(0));
  const char* device_env = std::getenv("UNMIX_BENCH_DEVICE");
  const std::string device = device_env ? device_env : "cpu";
  const fs::path output = corpus_cache().parent_path() / ("run-" + std::to_string(ranks));
  double rate = 0;
  for (auto _ : state) {
    fs::remove_all(output);
    std::vector<std::string> argv{"mpirun", "-np", std::to_string(ranks), "--bind-to", "none",
                                  (build_dir() / "tools" / "train").string(), "--cache", corpus_cache().string(),
                                  "--output", output.string(), "--device", device, "--batch-size", "16",
                                  "--seq-dur", "2", "--samples-per-track", "16", "--hidden-size",
                                  device == "cuda" ? "512" : "64", "--nfft", "512", "--nhop", "128", "--workers",
                                  "1", "--epochs", "1"};
    if (run(argv) != 0) {
      state.SkipWithError("mpirun train failed");
      return;
    }
    std::ifstream history(output / "history.jsonl");
    std::string line;
    std::getline(history, line);
    rate = nlohmann::json::parse(line).at("samples_per_second").get<double>();
  }
  if (ranks == 1) one_rank[device] = rate;
  state.counters["samples_per_s"] = rate;
  if (one_rank.count(device)) state.counters["efficiency"] = rate / (ranks * one_rank[device]);
}
BENCHMARK(BM_DataParallelTrainEpoch)->Arg(1)->Arg(2)->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
