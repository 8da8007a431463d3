// Data-parallel training on GPUs under mpirun: 2 ranks, one GPU each, gradients summed by NCCL on the
// model's stream. BatchNorm keeps per-device statistics there (docs/training.md), so the run is close to,
// not equal to, one GPU with the whole batch. Needs 2 GPUs (NCCL refuses two ranks on one device).
#include <gtest/gtest.h>

#include <cmath>

#include "gpu_test_support.h"
#include "mpi_job.h"
#include "test_support.h"
#include "../cpu/test_train_corpus.h"
#include "unmix/gpu/gradient_sum.h"
#include "unmix/parallel/communicator.h"
#include "unmix/train/checkpoint.h"

namespace fs = std::filesystem;
using namespace unmix;
using namespace unmix::train;

namespace {

TEST(GpuDataParallel, TwoGpuRanksTrainLikeOneGpu) {
  UNMIX_REQUIRE_GPU();
  if (!parallel::mpi_built() || !gpu::nccl_built()) GTEST_SKIP() << "built without MPI or NCCL";
  if (!test::have_mpirun()) GTEST_SKIP() << "no mpirun on PATH";
  if (gpu::query_devices().devices.size() < 2) GTEST_SKIP() << "needs 2 GPUs (one per rank; NCCL refuses sharing)";
  const fs::path dir = test::temp_dir("gpu-data-parallel");
  const auto manifest = test::write_corpus(dir / "corpus", 5, 2, 3.0);
  test::write_corpus_cache(manifest, dir / "corpus", dir / "cache");
  auto args = [&](const std::string& output) {
    return std::vector<std::string>{test::train_tool().string(), "--cache", (dir / "cache").string(), "--output",
                                    (dir / output).string(), "--device", "cuda", "--batch-size", "8", "--seq-dur",
                                    "1", "--samples-per-track", "8", "--hidden-size", "32", "--nfft", "512",
                                    "--nhop", "128", "--workers", "1", "--lr", "0.003", "--epochs", "3"};
  };
  ASSERT_EQ(test::run(args("one"), dir / "one.log", 300), 0) << test::read_text(dir / "one.log");
  std::vector<std::string> two = test::mpirun(2);
  for (auto& a : args("two")) two.push_back(a);
  ASSERT_EQ(test::run(two, dir / "two.log", 300), 0) << test::read_text(dir / "two.log");

  const Checkpoint a = load_checkpoint(checkpoint_path(dir / "one"));
  const Checkpoint b = load_checkpoint(checkpoint_path(dir / "two"));
  ASSERT_EQ(a.state.steps, b.state.steps);
  const double la = a.state.history.back().valid_loss, lb = b.state.history.back().valid_loss;
  ASSERT_TRUE(std::isfinite(lb));
  EXPECT_NEAR(lb, la, 0.1 * la) << "2 GPU ranks should learn about as well as one GPU with the whole batch";
  EXPECT_LT(b.state.history.back().train_loss, b.state.history.front().train_loss);
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
