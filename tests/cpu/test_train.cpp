// The trainer on the CPU with a tiny model and corpus: the validation loss falls, outputs are written,
// resuming (after a finished epoch or from the middle of one) reproduces an uninterrupted run exactly,
// and a non-finite loss stops the run without touching the last good checkpoint.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include "test_support.h"
#include "test_train_corpus.h"
#include "unmix/error.h"
#include "unmix/model_dir.h"
#include "unmix/train/checkpoint.h"
#include "unmix/train/trainer.h"

namespace fs = std::filesystem;
using namespace unmix;
using namespace unmix::train;

namespace {

class TrainTest : public ::testing::Test {
 protected:
  // The corpus, its cache and one uninterrupted 4-epoch run that the other tests compare against.
  static void SetUpTestSuite() {
    dir_ = new fs::path(test::temp_dir("train"));
    const auto manifest = test::write_corpus(*dir_ / "corpus", 5, 1, 3.0);
    test::write_corpus_cache(manifest, *dir_ / "corpus", *dir_ / "cache");
    reference_lines_ = new std::vector<std::string>;
    TrainerHooks hooks;
    hooks.log = [](const std::string& line) { reference_lines_->push_back(line); };
    reference_ = new TrainResult(run(small_config("reference"), hooks));
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(*dir_, ec);
    delete dir_;
    delete reference_;
    delete reference_lines_;
  }

  // Small enough for a few hundred milliseconds per epoch, large enough to learn something.
  static TrainConfig small_config(const std::string& run) {
    TrainConfig c;
    c.cache = (*dir_ / "cache").string();
    c.output = (*dir_ / run).string();
    c.target = "guitar";
    c.device = "cpu";
    c.epochs = 4;
    c.batch_size = 4;
    c.seq_dur = 1.0;
    c.samples_per_track = 4;
    c.lr = 0.01;
    c.hidden_size = 16;
    c.nfft = 512;
    c.nhop = 128;
    c.bandwidth = 6000;
    c.nb_workers = 2;
    c.valid_chunk_dur = 1.2;  // three chunks per 3 s validation track
    c.progress_seconds = 1e9;
    return c;
  }

  static TrainResult run(const TrainConfig& config, TrainerHooks hooks = {}, const fs::path& resume = {},
                         std::vector<std::string> given = {}) {
    if (!hooks.log) hooks.log = [](const std::string&) {};
    RunRequest request;
    request.config = config;
    request.resume = resume;
    request.given = std::move(given);
    return run_training(request, hooks);
  }

  static void expect_same_run(const fs::path& a, const fs::path& b) {
    const Checkpoint x = load_checkpoint(checkpoint_path(a)), y = load_checkpoint(checkpoint_path(b));
    ASSERT_EQ(x.state.history.size(), y.state.history.size());
    for (std::size_t e = 0; e < x.state.history.size(); ++e) {
      EXPECT_EQ(x.state.history[e].train_loss, y.state.history[e].train_loss) << "epoch " << e + 1;
      EXPECT_EQ(x.state.history[e].valid_loss, y.state.history[e].valid_loss) << "epoch " << e + 1;
      EXPECT_EQ(x.state.history[e].lr, y.state.history[e].lr) << "epoch " << e + 1;
    }
    EXPECT_EQ(x.state.steps, y.state.steps);
    EXPECT_EQ(x.weights.values, y.weights.values);
    EXPECT_EQ(x.adam.exp_avg, y.adam.exp_avg);
    EXPECT_EQ(x.adam.exp_avg_sq, y.adam.exp_avg_sq);
    EXPECT_EQ(x.adam.step, y.adam.step);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(x.weights.num_batches_tracked[i], y.weights.num_batches_tracked[i]);
    EXPECT_EQ(x.state.dropout.state, y.state.dropout.state);
  }

  static fs::path* dir_;
  static TrainResult* reference_;
  static std::vector<std::string>* reference_lines_;
};

fs::path* TrainTest::dir_ = nullptr;
TrainResult* TrainTest::reference_ = nullptr;
std::vector<std::string>* TrainTest::reference_lines_ = nullptr;

std::string read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST_F(TrainTest, ValidationLossFallsAndEveryOutputIsWritten) {
  const TrainResult& result = *reference_;
  ASSERT_EQ(result.outcome, Outcome::Finished) << result.message;
  ASSERT_EQ(result.history.size(), 4u);
  const double first = result.history.front().valid_loss, last = result.history.back().valid_loss;
  EXPECT_LT(last, 0.8 * first) << "validation loss " << first << " -> " << last;
  EXPECT_LT(result.history.back().train_loss, result.history.front().train_loss);
  EXPECT_EQ(result.steps, 4 * 4);  // 4 train tracks x 4 excerpts / batch 4 per epoch
  const std::vector<std::string>& lines = *reference_lines_;

  const fs::path out = result.output;
  // best model, readable as a separation model, equal to the weights of the best epoch
  const UmxWeights best = load_model(out, "guitar");
  EXPECT_EQ(best.config.hidden_size, 16);
  EXPECT_EQ(best.config.nfft, 512);
  EXPECT_EQ(best.config.max_bin, bandwidth_to_max_bin(16000, 512, 6000));
  const std::string summary = read_text(out / "guitar.json");
  EXPECT_NE(summary.find("\"best_loss\""), std::string::npos);
  EXPECT_NE(summary.find("\"valid_loss_history\""), std::string::npos);
  EXPECT_NE(summary.find("\"epochs_trained\": " + std::to_string(result.best_epoch)), std::string::npos) << summary;
  if (result.best_epoch == 4) {
    EXPECT_EQ(best.values, load_checkpoint(checkpoint_path(out)).weights.values);
  }
  // input normalization from the cache statistics (openunmix: input_mean = -mean, input_scale = 1/std),
  // trained a little since
  const auto input_scale = best["input_scale"];
  for (float s : input_scale) ASSERT_GT(s, 0.f);

  // history: one line per epoch with every measurement
  std::ifstream history(out / "history.jsonl");
  std::string line;
  int records = 0;
  while (std::getline(history, line)) {
    const EpochRecord r = history_from_line(line, "history.jsonl");
    EXPECT_EQ(r.epoch, ++records);
    EXPECT_GT(r.samples_per_second, 0);
    EXPECT_GE(r.data_wait_share, 0);
    EXPECT_LE(r.data_wait_share, 1);
    EXPECT_DOUBLE_EQ(r.lr, 0.01);
  }
  EXPECT_EQ(records, 4);
  // the curves: an SVG with one polyline per series
  const std::string svg = read_text(out / "loss.svg");
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_EQ(svg.find("</svg>"), svg.size() - 7);
  std::size_t polylines = 0;
  for (std::size_t at = svg.find("<polyline"); at != std::string::npos; at = svg.find("<polyline", at + 1)) ++polylines;
  EXPECT_EQ(polylines, 2u);
  // a progress line per epoch with an ETA, and the same lines in train.log
  int epoch_lines = 0;
  for (const auto& l : lines)
    if (l.rfind("epoch ", 0) == 0 && l.find("ETA") != std::string::npos) ++epoch_lines;
  EXPECT_EQ(epoch_lines, 4);
  EXPECT_NE(read_text(out / "train.log").find(lines.back()), std::string::npos);
}

TEST_F(TrainTest, ResumingAfterHalfTheEpochsMatchesOneRun) {
  TrainConfig half = small_config("halves");
  half.epochs = 2;
  ASSERT_EQ(run(half).outcome, Outcome::Finished);
  TrainConfig more;
  more.epochs = 4;
  const TrainResult resumed = run(more, {}, half.output, {"epochs"});
  ASSERT_EQ(resumed.outcome, Outcome::Finished) << resumed.message;
  EXPECT_EQ(resumed.epochs, 4);
  expect_same_run(reference_->output, half.output);
}

TEST_F(TrainTest, InterruptedMidEpochResumesExactly) {
  const TrainConfig config = small_config("interrupted");
  std::atomic<bool> stop{false};
  TrainerHooks hooks;
  hooks.stop = &stop;
  hooks.after_step = [&](std::int64_t step) {
    if (step == 6) stop = true;  // epoch 2, step 2 of 4
  };
  const TrainResult first = run(config, hooks);
  ASSERT_EQ(first.outcome, Outcome::Interrupted) << first.message;
  const Checkpoint mid = load_checkpoint(checkpoint_path(config.output));
  EXPECT_EQ(mid.state.epoch, 1);
  EXPECT_EQ(mid.state.batches_done, 2);
  EXPECT_EQ(mid.adam.step, 6);

  const TrainResult rest = run(TrainConfig{}, {}, config.output);
  ASSERT_EQ(rest.outcome, Outcome::Finished) << rest.message;
  expect_same_run(reference_->output, config.output);
}

TEST_F(TrainTest, NonFiniteLossStopsAndKeepsTheLastGoodCheckpoint) {
  const TrainConfig config = small_config("diverged");
  TrainerHooks hooks;
  hooks.engine.input_hook = [](std::int64_t step, std::span<float> mix) {
    if (step == 5) mix[0] = std::numeric_limits<float>::quiet_NaN();  // second step of epoch 2
  };
  const TrainResult result = run(config, hooks);
  ASSERT_EQ(result.outcome, Outcome::Diverged);
  EXPECT_NE(result.message.find("not finite at epoch 2, batch 2"), std::string::npos) << result.message;
  EXPECT_NE(result.message.find("checkpoint.safetensors (epoch 1)"), std::string::npos) << result.message;
  const Checkpoint kept = load_checkpoint(checkpoint_path(config.output));
  EXPECT_EQ(kept.state.epoch, 1);
  EXPECT_EQ(kept.state.batches_done, 0);
  for (float v : kept.weights.values) ASSERT_TRUE(std::isfinite(v));
  EXPECT_EQ(kept.state.history.size(), 1u);
}

// A step far too large leaves non-finite weights while the losses still look finite (before this check, both
// runs below went on to the end of the epoch): the run stops at the step that made them, names the
// parameter, and keeps the last good checkpoint byte for byte.
TEST_F(TrainTest, NonFiniteWeightsStopTheRunAtTheStepThatMadeThem) {
  // 1e39: Adam's step size lr / (1 - beta1^t) no longer fits a float, so the first step makes every updated
  // weight infinite or NaN. 1e30: the weights grow past float's range within a few steps.
  for (const double lr : {1e39, 1e30}) {
    SCOPED_TRACE("lr " + std::to_string(lr));
    TrainConfig config = small_config(lr > 1e35 ? "blown-at-once" : "blown-soon");
    config.epochs = 1;
    ASSERT_EQ(run(config).outcome, Outcome::Finished);
    // --lr cannot change on resume, so the checkpoint's learning rate is raised by hand
    const fs::path file = checkpoint_path(config.output);
    Checkpoint good = load_checkpoint(file);
    good.state.lr = good.state.config.lr = lr;
    save_checkpoint(file, good.state, good.weights, good.adam);
    const std::string kept = read_text(file);
    std::vector<std::int64_t> steps;
    TrainerHooks hooks;
    hooks.after_step = [&](std::int64_t step) { steps.push_back(step); };
    TrainConfig more;
    more.epochs = 2;
    const TrainResult result = run(more, hooks, config.output, {"epochs"});
    ASSERT_EQ(result.outcome, Outcome::Diverged) << result.message;
    EXPECT_EQ(result.message.rfind("parameter '", 0), 0u) << result.message;
    EXPECT_NE(result.message.find("checkpoint.safetensors (epoch 1)"), std::string::npos) << result.message;
    // epoch 2 is steps 5 to 8; the step that diverged never counts as done
    const std::int64_t batch = result.steps - 4;
    EXPECT_NE(result.message.find("is not finite at epoch 2, batch " + std::to_string(batch) + " (step " +
                                  std::to_string(result.steps) + ","),
              std::string::npos)
        << result.message;
    if (lr > 1e35) {
      EXPECT_EQ(batch, 1);
    }
    EXPECT_LT(batch, 4) << "stopped at the end of the epoch, not at the step";
    EXPECT_EQ(static_cast<std::int64_t>(steps.size()), batch - 1);
    EXPECT_EQ(read_text(file), kept);
  }
}

TEST_F(TrainTest, RefusesToOverwriteARunAndToChangeItsSettingsOnResume) {
  TrainConfig config = small_config("guarded");
  config.epochs = 1;
  ASSERT_EQ(run(config).outcome, Outcome::Finished);
  try {
    run(config);
    FAIL() << "a second fresh run into the same output was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--resume"), std::string::npos) << e.what();
  }
  TrainConfig changed;
  changed.lr = 0.5;
  try {
    run(changed, {}, config.output, {"lr"});
    FAIL() << "changing --lr on resume was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("--lr: cannot change when resuming", 0), 0u) << e.what();
  }
}

TEST_F(TrainTest, FineTuningStartsFromTheModelsWeightsAndScaling) {
  const UmxWeights start = load_model(reference_->output, "guitar");
  TrainConfig tune = small_config("fine-tuned");
  tune.model = reference_->output.string();  // the folder's one model
  tune.target = "rhythm";
  tune.epochs = 1;
  tune.lr = 1e-9;  // Adam moves each weight by about lr per step: the start stays in place
  std::vector<std::string> lines;
  TrainerHooks hooks;
  hooks.log = [&](const std::string& line) { lines.push_back(line); };
  const TrainResult tuned = run(tune, hooks);
  ASSERT_EQ(tuned.outcome, Outcome::Finished) << tuned.message;
  const UmxWeights after = load_model(tuned.output, "rhythm");
  // input_mean and input_scale are the reference's trained values, not the cache's statistics again
  for (const char* name : {"fc1.weight", "lstm.weight_ih_l0", "fc3.weight", "input_mean", "input_scale", "output_scale"}) {
    const auto a = after[name], b = start[name];
    ASSERT_EQ(a.size(), b.size()) << name;
    double max_diff = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) max_diff = std::max(max_diff, std::abs(double(a[i]) - double(b[i])));
    EXPECT_LT(max_diff, 1e-6) << name;
  }
  // it starts where the reference ended, not where a random start does
  EXPECT_LT(tuned.history[0].valid_loss, 0.8 * reference_->history[0].valid_loss);
  EXPECT_NE(std::find_if(lines.begin(), lines.end(), [](const std::string& l) { return l.rfind("fine-tuning ", 0) == 0; }),
            lines.end());

  TrainConfig wider = tune;
  wider.output = (*dir_ / "fine-tuned-wider").string();
  wider.hidden_size = 32;  // the model has 16
  try {
    run(wider);
    FAIL() << "a model of another width was fine-tuned";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("guitar.json: cannot be fine-tuned"), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
  TrainConfig nothing = tune;
  nothing.output = (*dir_ / "fine-tuned-nothing").string();
  nothing.model = (*dir_ / "cache").string();
  try {
    run(nothing);
    FAIL() << "a folder without a model was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("holds no model"), std::string::npos) << e.what();
  }
}

TEST_F(TrainTest, CacheMismatchesAreOneLineErrors) {
  TrainConfig config = small_config("mismatch");
  config.nfft = 1024;  // the cache's statistics use 512
  try {
    run(config);
    FAIL() << "an nfft different from the cache statistics was accepted";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("nfft 512"), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos);
  }
  config = small_config("mismatch");
  config.nb_channels = 1;
  EXPECT_THROW(run(config), Error);
}

}  // namespace
