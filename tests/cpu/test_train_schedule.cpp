// The trainer's small parts: ReduceLROnPlateau and EarlyStopping against sequences recorded from torch 1.13
// and openunmix 1.3, settings from JSON with flags winning, checkpoints round-tripping, the loss SVG.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "test_support.h"
#include "unmix/error.h"
#include "unmix/safetensors.h"
#include "unmix/train/checkpoint.h"
#include "unmix/train/config.h"
#include "unmix/train/history.h"
#include "unmix/train/schedule.h"
#include "unmix/train/trainer.h"

using namespace unmix;
using namespace unmix::train;

namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

TEST(PlateauScheduler, FollowsTorchReduceLROnPlateau) {
  // torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=2, cooldown=1), lr 1.0
  struct Step {
    double metric, lr;
    int bad, cooldown;
  };
  const Step expected[] = {{1.0, 1.0, 0, 0},   {0.99, 1.0, 0, 0},  {0.99, 1.0, 1, 0},    {0.98999, 1.0, 2, 0},
                           {0.99, 0.5, 0, 1},  {0.98, 0.5, 0, 0},  {0.98, 0.5, 1, 0},    {kNan, 0.5, 2, 0},
                           {0.98, 0.25, 0, 1}, {0.5, 0.25, 0, 0},  {0.5, 0.25, 1, 0},    {0.5, 0.25, 2, 0},
                           {0.5, 0.125, 0, 1}};
  PlateauScheduler s;
  s.factor = 0.5;
  s.patience = 2;
  s.cooldown = 1;
  double lr = 1.0;
  int epoch = 0;
  for (const Step& e : expected) {
    lr = s.step(e.metric, lr);
    ++epoch;
    EXPECT_EQ(lr, e.lr) << "epoch " << epoch;
    EXPECT_EQ(s.num_bad_epochs, e.bad) << "epoch " << epoch;
    EXPECT_EQ(s.cooldown_counter, e.cooldown) << "epoch " << epoch;
  }
  EXPECT_EQ(s.best, 0.5);
}

TEST(PlateauScheduler, SkipsReductionsBelowEps) {
  PlateauScheduler s;
  s.factor = 0.5;
  s.patience = 0;
  EXPECT_EQ(s.step(1.0, 1e-8), 1e-8);  // first epoch improves on infinity
  EXPECT_EQ(s.step(1.0, 1e-8), 1e-8);  // 1e-8 - 5e-9 is not above eps: unchanged, as torch
  EXPECT_EQ(s.step(1.0, 1.0), 1.0);     // in cooldown (10 by default)
}

TEST(EarlyStopping, FollowsOpenunmix) {
  // openunmix.utils.EarlyStopping(patience=3)
  EarlyStopping es;
  es.patience = 3;
  const double metrics[] = {1.0, 0.9, 0.9, 0.95, 0.89, 0.89, 0.89, 0.89};
  const bool stop[] = {false, false, false, false, false, false, false, true};
  const int bad[] = {0, 0, 1, 2, 0, 1, 2, 3};
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(es.step(metrics[i]), stop[i]) << "epoch " << i + 1;
    EXPECT_EQ(es.num_bad_epochs, bad[i]) << "epoch " << i + 1;
  }
  EXPECT_EQ(es.best, 0.89);
  EarlyStopping nan_stops;
  EXPECT_FALSE(nan_stops.step(1.0));
  EXPECT_TRUE(nan_stops.step(kNan));
  EXPECT_EQ(nan_stops.best, 1.0);
}

TEST(TrainConfig, DefaultsAreOpenunmixs) {
  const TrainConfig c;
  EXPECT_EQ(c.epochs, 1000);
  EXPECT_EQ(c.batch_size, 16);
  EXPECT_EQ(c.seq_dur, 6.0);
  EXPECT_EQ(c.samples_per_track, 64);
  EXPECT_EQ(c.lr, 1e-3);
  EXPECT_EQ(c.weight_decay, 1e-5);
  EXPECT_EQ(c.lr_decay_patience, 80);
  EXPECT_EQ(c.lr_decay_gamma, 0.3);
  EXPECT_EQ(c.lr_decay_cooldown, 10);
  EXPECT_EQ(c.patience, 140);
  EXPECT_EQ(c.hidden_size, 512);
  EXPECT_EQ(c.nb_channels, 2);
  EXPECT_EQ(c.bandwidth, 16000.0);
  EXPECT_EQ(c.nfft, 4096);
  EXPECT_EQ(c.nhop, 1024);
  EXPECT_EQ(c.seed, 42u);
  // The input augmentations are this project's, off unless asked for.
  EXPECT_EQ(c.mono_probability, 0.0);
  EXPECT_EQ(c.tilt_probability, 0.0);
  EXPECT_EQ(c.resample_probability, 0.0);
  EXPECT_EQ(c.codec_probability, 0.0);
}

TEST(TrainConfig, AugmentationSettingsParseValidateAndAreKeptOnResume) {
  TrainConfig c;
  c.cache = "cache";
  merge_config_json(c, R"({"codec_probability": 0.3, "codecs": "opus,mp3", "codec_kbps_min": 96, "codec_kbps_max": 128,
                           "resample_probability": 0.2, "resample_rates": "48000,32000", "tilt_probability": 0.5,
                           "tilt_db_per_octave_max": 2, "mono_probability": 0.05})",
                    "cfg.json");
  EXPECT_NO_THROW(validate(c));
  EXPECT_EQ(c.codecs, "opus,mp3");
  EXPECT_EQ(c.codec_kbps_max, 128);
  EXPECT_EQ(c.resample_rates, "48000,32000");
  // Recorded with the run like every other setting.
  const std::string json = config_to_json(c);
  EXPECT_NE(json.find(R"("codec_probability":0.3)"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("resample_rates":"48000,32000")"), std::string::npos) << json;
  const auto first_error = [](TrainConfig bad) {
    try {
      validate(bad);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("valid");
  };
  TrainConfig bad = c;
  bad.tilt_probability = 1.5;
  EXPECT_EQ(first_error(bad), "--tilt-probability: must be in [0, 1]");
  bad = c;
  bad.mono_probability = -0.1;
  EXPECT_EQ(first_error(bad), "--mono-probability: must be in [0, 1]");
  bad = c;
  bad.codec_probability = 2;
  EXPECT_EQ(first_error(bad), "--codec-probability: must be in [0, 1]");
  bad = c;
  bad.resample_probability = 1.01;
  EXPECT_EQ(first_error(bad), "--resample-probability: must be in [0, 1]");
  bad = c;
  bad.tilt_db_per_octave_max = 7;
  EXPECT_EQ(first_error(bad), "--tilt-db-per-octave-max: must be in [0, 6]");
  bad = c;
  bad.codecs = "mp3,aac";
  EXPECT_EQ(first_error(bad), "--codecs: unknown codec 'aac' (mp3, vorbis or opus)");
  bad = c;
  bad.resample_rates = "48 kHz";
  EXPECT_EQ(first_error(bad), "--resample-rates: '48 kHz' is not a sample rate in Hz");
  bad = c;
  bad.codec_kbps_min = 4;
  EXPECT_EQ(first_error(bad), "--codec-kbps-min: must be in [8, 320]");
  bad = c;
  bad.codec_kbps_max = 64;  // below the minimum of 96
  EXPECT_EQ(first_error(bad), "--codec-kbps-max: must be at least --codec-kbps-min (96) and at most 320");
  bad = c;
  bad.codec_kbps_max = 321;
  EXPECT_EQ(first_error(bad), "--codec-kbps-max: must be at least --codec-kbps-min (96) and at most 320");
  // They change the batches, so a resumed run cannot change them.
  for (const char* key : {"mono_probability", "tilt_probability", "tilt_db_per_octave_max", "resample_probability",
                          "resample_rates", "codec_probability", "codecs", "codec_kbps_min", "codec_kbps_max"}) {
    ASSERT_NE(find_field(key), nullptr) << key;
    EXPECT_FALSE(find_field(key)->resumable) << key;
  }
  TrainConfig asked = c;
  asked.codec_probability = 0.5;
  EXPECT_THROW(merge_for_resume(c, asked, {"codec_probability"}), Error);
}

TEST(TrainConfig, JsonSetsFieldsAndRejectsUnknownOnes) {
  TrainConfig c;
  const auto keys =
      merge_config_json(c, R"({"lr": 0.0003, "batch_size": 8, "device": "cpu", "tf32": true, "seed": 7})", "cfg.json");
  EXPECT_EQ(keys, (std::vector<std::string>{"lr", "batch_size", "device", "tf32", "seed"}));
  EXPECT_EQ(c.lr, 0.0003);
  EXPECT_EQ(c.batch_size, 8);
  EXPECT_EQ(c.device, "cpu");
  EXPECT_TRUE(c.tf32);
  EXPECT_EQ(c.seed, 7u);
  EXPECT_EQ(c.epochs, 1000);  // untouched
  try {
    merge_config_json(c, R"({"learning_rate": 1})", "cfg.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "cfg.json: unknown field 'learning_rate'");
  }
  EXPECT_THROW(merge_config_json(c, R"({"batch_size": 1.5})", "cfg.json"), Error);
  EXPECT_THROW(merge_config_json(c, R"({"lr": "fast"})", "cfg.json"), Error);
  EXPECT_THROW(merge_config_json(c, R"([1, 2])", "cfg.json"), Error);
  // everything written comes back
  TrainConfig round;
  merge_config_json(round, config_to_json(c), "round trip");
  EXPECT_EQ(config_to_json(round), config_to_json(c));
}

TEST(TrainConfig, ValidateNamesTheFlag) {
  TrainConfig c;
  c.cache = "cache";
  EXPECT_NO_THROW(validate(c));
  c.lr_decay_gamma = 1.5;
  try {
    validate(c);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("--lr-decay-gamma:", 0), 0u) << e.what();
  }
  c = TrainConfig{};
  EXPECT_THROW(validate(c), Error);  // no cache
}

TEST(TrainConfig, ResumeKeepsTheRunsSettingsExceptResumableOnes) {
  TrainConfig saved;
  saved.lr = 0.01;
  saved.epochs = 10;
  TrainConfig asked;
  asked.epochs = 20;
  asked.nb_workers = 8;
  asked.lr = 0.5;  // not in `given`: ignored
  const TrainConfig merged = merge_for_resume(saved, asked, {"epochs", "nb_workers"});
  EXPECT_EQ(merged.epochs, 20);
  EXPECT_EQ(merged.nb_workers, 8);
  EXPECT_EQ(merged.lr, 0.01);
  asked.lr = 0.01;  // given but equal: fine
  EXPECT_NO_THROW(merge_for_resume(saved, asked, {"lr"}));
  asked.lr = 0.5;
  EXPECT_THROW(merge_for_resume(saved, asked, {"lr"}), Error);
}

TEST(Checkpoint, RoundTripsEveryPieceOfState) {
  ModelConfig model;
  model.nfft = 256;
  model.nhop = 64;
  model.nb_bins = 129;
  model.max_bin = 100;
  model.hidden_size = 8;
  UmxWeights w(model);
  w.init_synthetic(3);
  w.num_batches_tracked[1] = 17;
  cpu::AdamState adam;
  adam.reset(w.table.trainable_size());
  adam.exp_avg = test::random_vector<float>(adam.exp_avg.size(), 1);
  adam.exp_avg_sq = test::random_vector<float>(adam.exp_avg.size(), 2, 0.0, 1.0);
  adam.step = 33;
  TrainState s;
  s.config.cache = "c";
  s.config.lr = 0.1 / 3;  // not exactly representable: must survive the JSON
  s.target = "guitar";
  s.epoch = 2;
  s.batches_done = 5;
  s.partial_loss_sum = 1.0 / 7;
  s.lr = 0.3 * 0.3 * 1e-3;
  s.steps = 33;
  s.best_epoch = 1;
  s.scheduler.best = 0.123456789012345;
  s.scheduler.num_bad_epochs = 1;
  s.stopping.has_best = true;
  s.stopping.best = 0.123456789012345;
  s.dropout = {"cpu-mt19937_64", "1 2 3"};
  EpochRecord r;
  r.epoch = 1;
  r.train_loss = 0.2;
  r.valid_loss = 0.123456789012345;
  s.history = {r, r};
  s.history[1].epoch = 2;
  const auto file = test::temp_dir("checkpoint") / "checkpoint.safetensors";
  save_checkpoint(file, s, w, adam);
  const Checkpoint c = load_checkpoint(file);
  EXPECT_EQ(c.weights.values, w.values);
  EXPECT_EQ(c.weights.num_batches_tracked[1], 17);
  EXPECT_EQ(c.weights.config.max_bin, 100);
  EXPECT_EQ(c.adam.exp_avg, adam.exp_avg);
  EXPECT_EQ(c.adam.exp_avg_sq, adam.exp_avg_sq);
  EXPECT_EQ(c.adam.step, 33);
  EXPECT_EQ(c.state.config.lr, s.config.lr);
  EXPECT_EQ(c.state.partial_loss_sum, s.partial_loss_sum);
  EXPECT_EQ(c.state.lr, s.lr);
  EXPECT_EQ(c.state.batches_done, 5);
  EXPECT_EQ(c.state.scheduler.best, s.scheduler.best);
  EXPECT_TRUE(std::isinf(TrainState{}.scheduler.best));
  EXPECT_EQ(c.state.stopping.best, s.stopping.best);
  EXPECT_EQ(c.state.dropout.state, "1 2 3");
  ASSERT_EQ(c.state.history.size(), 2u);
  EXPECT_EQ(c.state.history[1].valid_loss, r.valid_loss);

  // a fresh state's infinite scheduler best survives too
  TrainState fresh = s;
  fresh.scheduler = PlateauScheduler{};
  save_checkpoint(file, fresh, w, adam);
  EXPECT_TRUE(std::isinf(load_checkpoint(file).state.scheduler.best));
  // and a file that is not a checkpoint is named in the error
  const auto model_file = file.parent_path() / "other.safetensors";
  safetensors::write(model_file, {safetensors::make_f32("x", {1}, std::vector<float>{1.f})});
  try {
    load_checkpoint(model_file);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("other.safetensors: not a training checkpoint"), std::string::npos) << e.what();
  }
}

TEST(LossCurves, SvgHasBothSeriesAndMarksTheBestEpoch) {
  std::vector<EpochRecord> history;
  for (int e = 1; e <= 30; ++e) {
    EpochRecord r;
    r.epoch = e;
    r.train_loss = 1.0 / e;
    r.valid_loss = 1.2 / e + (e > 20 ? 0.01 * (e - 20) : 0);
    history.push_back(r);
  }
  history[19].best = true;
  const std::string svg = loss_curves_svg(history, "guitar <test>");
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("guitar &lt;test&gt;"), std::string::npos);
  EXPECT_NE(svg.find("log scale"), std::string::npos);  // 1 .. 0.033 spans more than a decade
  EXPECT_NE(svg.find("best validation (epoch 20"), std::string::npos);
  std::size_t polylines = 0, points = 0;
  for (std::size_t at = svg.find("points=\""); at != std::string::npos; at = svg.find("points=\"", at + 1)) {
    ++polylines;
    const std::size_t end = svg.find('"', at + 8);
    for (std::size_t i = at + 8; i < end; ++i) points += svg[i] == ',';
  }
  EXPECT_EQ(polylines, 2u);
  EXPECT_EQ(points, 60u);
  // a NaN breaks the line instead of drawing it
  history[5].valid_loss = kNan;
  const std::string broken = loss_curves_svg(history, "t");
  std::size_t lines = 0;
  for (std::size_t at = broken.find("<polyline"); at != std::string::npos; at = broken.find("<polyline", at + 1)) ++lines;
  EXPECT_EQ(lines, 3u);
}

}  // namespace
