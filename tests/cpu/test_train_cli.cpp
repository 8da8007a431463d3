// tools/train as a process: SIGINT finishes the step, checkpoints and exits 0, and --resume continues;
// flags win over a JSON config; bad settings and a missing GPU are one-line errors.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "test_support.h"
#include "test_train_corpus.h"
#include "unmix/gpu/device.h"
#include "unmix/train/checkpoint.h"

namespace fs = std::filesystem;
using namespace unmix;
using namespace unmix::train;

namespace {

// Tests run from <build>/tests; the tool is <build>/tools/train.
fs::path train_tool() { return fs::read_symlink("/proc/self/exe").parent_path().parent_path() / "tools" / "train"; }

std::string read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Starts tools/train with `args`, stderr and stdout into `log`.
pid_t start(const std::vector<std::string>& args, const fs::path& log) {
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    ::setenv("OMP_NUM_THREADS", "1", 1);  // a tiny model; spare the shared CI cores
    const std::string tool = train_tool().string();
    std::vector<char*> argv{const_cast<char*>(tool.c_str())};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(tool.c_str(), argv.data());
    ::_exit(127);
  }
  return pid;
}

// The exit code, or -1 when it had to be killed after `seconds`.
int wait_for(pid_t pid, double seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

class TrainCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(test::temp_dir("train-cli"));
    const auto manifest = test::write_corpus(*dir_ / "corpus", 4, 1, 3.0);
    test::write_corpus_cache(manifest, *dir_ / "corpus", *dir_ / "cache");
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(*dir_, ec);
    delete dir_;
  }
  void SetUp() override { ASSERT_TRUE(fs::exists(train_tool())) << train_tool() << " is not built"; }

  static std::vector<std::string> small_args(const std::string& output) {
    return {"--cache", (*dir_ / "cache").string(), "--output", (*dir_ / output).string(), "--device", "cpu",
            "--batch-size", "2", "--seq-dur", "1", "--samples-per-track", "2", "--hidden-size", "8",
            "--nfft", "512", "--nhop", "128", "--workers", "1", "--lr", "0.01"};
  }

  static fs::path* dir_;
};

fs::path* TrainCli::dir_ = nullptr;

TEST_F(TrainCli, SigintCheckpointsExitsZeroAndResumeContinues) {
  const fs::path out = *dir_ / "signalled";
  auto args = small_args("signalled");
  args.insert(args.end(), {"--epochs", "1000"});
  const pid_t pid = start(args, *dir_ / "signalled.log");
  // Interrupt once the first epoch's checkpoint is there: the run is then inside a later epoch.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!fs::exists(checkpoint_path(out)) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_TRUE(fs::exists(checkpoint_path(out))) << read_text(*dir_ / "signalled.log");
  ::kill(pid, SIGINT);
  const int code = wait_for(pid, 60);
  const std::string log = read_text(*dir_ / "signalled.log");
  ASSERT_EQ(code, 0) << log;
  EXPECT_NE(log.find("train: interrupted"), std::string::npos) << log;

  const Checkpoint saved = load_checkpoint(checkpoint_path(out));
  ASSERT_GE(saved.state.epoch, 1);
  ASSERT_LT(saved.state.epoch, 1000);
  EXPECT_EQ(saved.adam.step, saved.state.steps);
  const std::int64_t steps_per_epoch = 3 * 2 / 2;  // 3 train tracks x 2 excerpts / batch 2
  EXPECT_EQ(saved.state.steps, saved.state.epoch * steps_per_epoch + saved.state.batches_done);

  const std::string until = std::to_string(saved.state.epoch + 1);
  const int resumed = wait_for(start({"--resume", out.string(), "--epochs", until}, *dir_ / "resumed.log"), 120);
  ASSERT_EQ(resumed, 0) << read_text(*dir_ / "resumed.log");
  const Checkpoint done = load_checkpoint(checkpoint_path(out));
  EXPECT_EQ(done.state.epoch, saved.state.epoch + 1);
  EXPECT_EQ(done.state.batches_done, 0);
  EXPECT_EQ(done.state.config.epochs, saved.state.epoch + 1);
  std::ifstream history(out / "history.jsonl");
  std::string line;
  std::int64_t lines = 0;
  while (std::getline(history, line)) ++lines;
  EXPECT_EQ(lines, saved.state.epoch + 1);
}

TEST_F(TrainCli, FlagsWinOverTheConfigFile) {
  const fs::path config = *dir_ / "settings.json";
  std::ofstream(config) << R"({"epochs": 1, "lr": 0.5, "seed": 9})";
  auto args = small_args("configured");
  args.insert(args.end(), {"--config", config.string()});  // small_args also passes --lr 0.01
  ASSERT_EQ(wait_for(start(args, *dir_ / "configured.log"), 120), 0) << read_text(*dir_ / "configured.log");
  const Checkpoint c = load_checkpoint(checkpoint_path(*dir_ / "configured"));
  EXPECT_EQ(c.state.config.lr, 0.01);
  EXPECT_EQ(c.state.config.epochs, 1);
  EXPECT_EQ(c.state.config.seed, 9u);
  EXPECT_EQ(c.state.epoch, 1);
  EXPECT_NE(read_text(*dir_ / "configured" / "guitar.json").find("\"best_loss\""), std::string::npos);
}

TEST_F(TrainCli, BadSettingsAreOneLineErrors) {
  const fs::path config = *dir_ / "typo.json";
  std::ofstream(config) << R"({"learning_rate": 0.1})";
  auto args = small_args("typo");
  args.insert(args.end(), {"--config", config.string()});
  ASSERT_EQ(wait_for(start(args, *dir_ / "typo.log"), 30), 1);
  EXPECT_EQ(read_text(*dir_ / "typo.log"), "train: " + config.string() + ": unknown field 'learning_rate'\n");

  args = small_args("gamma");
  args.insert(args.end(), {"--lr-decay-gamma", "2"});
  ASSERT_EQ(wait_for(start(args, *dir_ / "gamma.log"), 30), 1);
  EXPECT_EQ(read_text(*dir_ / "gamma.log"), "train: --lr-decay-gamma: must be in (0, 1)\n");

  args = small_args("codec");
  args.insert(args.end(), {"--codec-probability", "2"});
  ASSERT_EQ(wait_for(start(args, *dir_ / "codec.log"), 30), 1);
  EXPECT_EQ(read_text(*dir_ / "codec.log"), "train: --codec-probability: must be in [0, 1]\n");

  args = small_args("codecs");
  args.insert(args.end(), {"--codecs", "mp3,wma"});
  ASSERT_EQ(wait_for(start(args, *dir_ / "codecs.log"), 30), 1);
  EXPECT_EQ(read_text(*dir_ / "codecs.log"), "train: --codecs: unknown codec 'wma' (mp3, vorbis or opus)\n");

  // Checked against the cache's rate (16 kHz) once it is open.
  args = small_args("rates");
  args.insert(args.end(), {"--resample-probability", "0.5", "--resample-rates", "44101"});
  ASSERT_EQ(wait_for(start(args, *dir_ / "rates.log"), 30), 1);
  EXPECT_EQ(read_text(*dir_ / "rates.log"), "train: --resample-rates: 16000 Hz <-> 44101 Hz is a 16000:44101 ratio; the "
                                            "filter allows at most 1024 phases\n");
}

TEST_F(TrainCli, TrainsWithEveryInputAugmentationAndRecordsThem) {
  auto args = small_args("augmented");
  args.insert(args.end(), {"--epochs", "1", "--mono-probability", "0.5", "--tilt-probability", "1",
                           "--resample-probability", "1", "--codec-probability", "1", "--codecs", "vorbis,opus",
                           "--codec-kbps-min", "32", "--codec-kbps-max", "64"});
  ASSERT_EQ(wait_for(start(args, *dir_ / "augmented.log"), 120), 0) << read_text(*dir_ / "augmented.log");
  EXPECT_NE(read_text(*dir_ / "augmented.log").find("input augmentations per excerpt: mono 0.5, tilt 1"),
            std::string::npos) << read_text(*dir_ / "augmented.log");
  const Checkpoint c = load_checkpoint(checkpoint_path(*dir_ / "augmented"));
  EXPECT_EQ(c.state.epoch, 1);
  EXPECT_EQ(c.state.config.codec_probability, 1.0);
  EXPECT_EQ(c.state.config.codecs, "vorbis,opus");
  EXPECT_EQ(c.state.config.codec_kbps_max, 64);
  EXPECT_EQ(c.state.config.mono_probability, 0.5);
  EXPECT_NE(read_text(*dir_ / "augmented" / "guitar.json").find("\"codec_probability\""), std::string::npos);
}

TEST_F(TrainCli, CudaWithoutAGpuIsAOneLineError) {
  if (gpu::query_devices().available()) GTEST_SKIP() << "a GPU is present; this checks the message without one";
  auto args = small_args("nogpu");
  args[5] = "cuda";  // --device
  ASSERT_EQ(wait_for(start(args, *dir_ / "nogpu.log"), 30), 1);
  const std::string log = read_text(*dir_ / "nogpu.log");
  EXPECT_EQ(log.rfind("train: --device cuda: ", 0), 0u) << log;
  EXPECT_NE(log.find("CUDA"), std::string::npos) << log;  // the reason, from the device query
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 1) << log;
}

}  // namespace
