// Training checkpoints: tensors and the JSON run state in one safetensors file (layout in checkpoint.h).
#include "unmix/train/checkpoint.h"

#include <algorithm>
#include <cmath>
#include <span>
#include <limits>
#include <nlohmann/json.hpp>

#include "unmix/error.h"
#include "unmix/limits.h"
#include "unmix/safetensors.h"

namespace unmix::train {

namespace {

using json = nlohmann::ordered_json;
namespace st = safetensors;

constexpr const char* kStateKey = "unmix.train_state";
constexpr int kFormatVersion = 1;

// JSON has no infinity; the scheduler's initial best is written as null.
json finite_or_null(double x) { return std::isfinite(x) ? json(x) : json(nullptr); }
double from_finite_or_null(const json& j) { return j.is_null() ? std::numeric_limits<double>::infinity() : j.get<double>(); }

json model_json(const ModelConfig& c) {
  return {{"nfft", c.nfft},           {"nhop", c.nhop},
          {"nb_bins", c.nb_bins},     {"max_bin", c.max_bin},
          {"nb_channels", c.nb_channels}, {"hidden_size", c.hidden_size},
          {"nb_layers", c.nb_layers}, {"sample_rate", c.sample_rate},
          {"bandwidth", c.bandwidth}, {"lstm_dropout", c.lstm_dropout}};
}

ModelConfig model_from_json(const json& j) {
  ModelConfig c;
  c.nfft = j.at("nfft").get<int>();
  c.nhop = j.at("nhop").get<int>();
  c.nb_bins = j.at("nb_bins").get<int>();
  c.max_bin = j.at("max_bin").get<int>();
  c.nb_channels = j.at("nb_channels").get<int>();
  c.hidden_size = j.at("hidden_size").get<int>();
  c.nb_layers = j.at("nb_layers").get<int>();
  c.sample_rate = j.at("sample_rate").get<double>();
  c.bandwidth = j.at("bandwidth").get<double>();
  c.lstm_dropout = j.at("lstm_dropout").get<float>();
  return c;
}

std::string bn_counter_name(int i) { return "model." + std::string(kBatchNormNames[i]) + ".num_batches_tracked"; }

const st::Tensor& require(const st::File& f, const std::filesystem::path& file, const std::string& name,
                          st::DType dtype, const std::vector<std::int64_t>& shape) {
  const st::Tensor* t = f.find(name);
  if (!t) fail(file, "checkpoint has no tensor '" + name + "'");
  if (t->dtype != dtype || t->shape != shape)
    fail(file, "tensor '" + name + "' is " + std::string(st::dtype_name(t->dtype)) + " " + st::shape_string(t->shape) +
                   ", expected " + std::string(st::dtype_name(dtype)) + " " + st::shape_string(shape));
  return *t;
}

// A checkpoint that parses can still hold values no run produces (a flipped bit, a hand edit); resuming
// from them would train on nonsense, so they are refused by name.
void check_resumed_state(const std::filesystem::path& file, const TrainState& s) {
  auto require = [&](bool ok, const std::string& what) {
    if (!ok) fail(file, "damaged training state: " + what);
  };
  require(std::isfinite(s.lr) && s.lr > 0, "learning rate " + std::to_string(s.lr) + " is not positive");
  require(s.scheduler.factor > 0 && s.scheduler.factor < 1, "plateau factor is not in (0, 1)");
  require(s.scheduler.patience >= 0 && s.scheduler.cooldown >= 0 && s.scheduler.num_bad_epochs >= 0 &&
              s.scheduler.cooldown_counter >= 0 && s.stopping.patience >= 0 && s.stopping.num_bad_epochs >= 0,
          "a patience, cooldown or counter is negative");
  require(std::isfinite(s.scheduler.threshold) && s.scheduler.threshold >= 0 && std::isfinite(s.scheduler.eps) &&
              s.scheduler.eps >= 0 && std::isfinite(s.stopping.min_delta),
          "plateau threshold, eps or early-stopping delta is not a finite number >= 0");
  require(!std::isnan(s.scheduler.best) && (!s.stopping.has_best || std::isfinite(s.stopping.best)),
          "a best loss is not a number");
  require(s.best_epoch >= 0 && s.best_epoch <= s.epoch, "best epoch " + std::to_string(s.best_epoch) +
                                                            " is not within the " + std::to_string(s.epoch) +
                                                            " epochs done");
  require(s.steps >= s.batches_done, "fewer steps (" + std::to_string(s.steps) + ") than batches done in the epoch (" +
                                         std::to_string(s.batches_done) + ")");
  require(std::isfinite(s.partial_loss_sum) && s.partial_loss_sum >= 0 && std::isfinite(s.partial_train_seconds) &&
              std::isfinite(s.partial_wait_seconds),
          "the partial epoch's loss or times are not finite");
}

void require_finite(const std::filesystem::path& file, const std::string& name, std::span<const float> values) {
  const auto bad = std::find_if(values.begin(), values.end(), [](float v) { return !std::isfinite(v); });
  if (bad != values.end())
    fail(file, "damaged checkpoint: tensor '" + name + "' holds a non-finite value (NaN or infinity) at index " +
                   std::to_string(bad - values.begin()));
}

}  // namespace

void save_checkpoint(const std::filesystem::path& file, const TrainState& s, const UmxWeights& weights,
                     const cpu::AdamState& adam) {
  std::vector<st::Tensor> tensors;
  for (const auto& e : weights.table.entries())
    tensors.push_back(st::make_f32("model." + e.name, e.shape,
                                   std::span<const float>(weights.values.data() + e.offset, e.numel())));
  for (int i = 0; i < 3; ++i) tensors.push_back(st::make_i64(bn_counter_name(i), {}, std::span(&weights.num_batches_tracked[i], 1)));
  const auto trainable = static_cast<std::int64_t>(weights.table.trainable_size());
  tensors.push_back(st::make_f32("adam.exp_avg", {trainable}, adam.exp_avg));
  tensors.push_back(st::make_f32("adam.exp_avg_sq", {trainable}, adam.exp_avg_sq));
  tensors.push_back(st::make_i64("adam.step", {}, std::span(&adam.step, 1)));

  json history = json::array();
  for (const auto& r : s.history) history.push_back(json::parse(history_line(r)));
  const json state = {
      {"format", "unmix-train-checkpoint"},
      {"version", kFormatVersion},
      {"config", json::parse(config_to_json(s.config))},
      {"model", model_json(weights.config)},
      {"target", s.target},
      {"epoch", s.epoch},
      {"batches_done", s.batches_done},
      {"partial_loss_sum", s.partial_loss_sum},
      {"partial_train_seconds", s.partial_train_seconds},
      {"partial_wait_seconds", s.partial_wait_seconds},
      {"lr", s.lr},
      {"steps", s.steps},
      {"best_epoch", s.best_epoch},
      {"scheduler",
       {{"factor", s.scheduler.factor},
        {"patience", s.scheduler.patience},
        {"cooldown", s.scheduler.cooldown},
        {"threshold", s.scheduler.threshold},
        {"eps", s.scheduler.eps},
        {"best", finite_or_null(s.scheduler.best)},
        {"num_bad_epochs", s.scheduler.num_bad_epochs},
        {"cooldown_counter", s.scheduler.cooldown_counter},
        {"last_epoch", s.scheduler.last_epoch}}},
      {"early_stopping",
       {{"patience", s.stopping.patience},
        {"min_delta", s.stopping.min_delta},
        {"best", s.stopping.has_best ? json(s.stopping.best) : json(nullptr)},
        {"num_bad_epochs", s.stopping.num_bad_epochs}}},
      {"dropout", {{"kind", s.dropout.kind}, {"state", s.dropout.state}}},
      {"history", history}};
  const std::string state_text = state.dump();
  st::write(file, tensors, {{kStateKey, state_text}, {std::string(st::kChecksumKey), st::checksum(tensors, state_text)}});
}

Checkpoint load_checkpoint(const std::filesystem::path& file) {
  const st::File f = st::read(file);
  const auto meta = f.metadata.find(kStateKey);
  if (meta == f.metadata.end()) fail(file, "not a training checkpoint (no " + std::string(kStateKey) + " metadata)");
  json j;
  try {
    j = json::parse(meta->second);
  } catch (const json::exception& e) {
    fail(file, std::string("training state is not valid JSON: ") + e.what());
  }
  ModelConfig model;
  TrainState s;
  try {
    if (j.at("format").get<std::string>() != "unmix-train-checkpoint") fail(file, "not a training checkpoint");
    if (j.at("version").get<int>() != kFormatVersion)
      fail(file, "checkpoint format version " + std::to_string(j.at("version").get<int>()) + " is not supported");
    merge_config_json(s.config, j.at("config").dump(), file.string() + " (config)");
    model = model_from_json(j.at("model"));
    s.target = j.at("target").get<std::string>();
    s.epoch = j.at("epoch").get<std::int64_t>();
    s.batches_done = j.at("batches_done").get<std::int64_t>();
    s.partial_loss_sum = j.at("partial_loss_sum").get<double>();
    s.partial_train_seconds = j.at("partial_train_seconds").get<double>();
    s.partial_wait_seconds = j.at("partial_wait_seconds").get<double>();
    s.lr = j.at("lr").get<double>();
    s.steps = j.at("steps").get<std::int64_t>();
    s.best_epoch = j.at("best_epoch").get<std::int64_t>();
    const json& sc = j.at("scheduler");
    s.scheduler.factor = sc.at("factor").get<double>();
    s.scheduler.patience = sc.at("patience").get<int>();
    s.scheduler.cooldown = sc.at("cooldown").get<int>();
    s.scheduler.threshold = sc.at("threshold").get<double>();
    s.scheduler.eps = sc.at("eps").get<double>();
    s.scheduler.best = from_finite_or_null(sc.at("best"));
    s.scheduler.num_bad_epochs = sc.at("num_bad_epochs").get<int>();
    s.scheduler.cooldown_counter = sc.at("cooldown_counter").get<int>();
    s.scheduler.last_epoch = sc.at("last_epoch").get<std::int64_t>();
    const json& es = j.at("early_stopping");
    s.stopping.patience = es.at("patience").get<int>();
    s.stopping.min_delta = es.at("min_delta").get<double>();
    s.stopping.has_best = !es.at("best").is_null();
    s.stopping.best = s.stopping.has_best ? es.at("best").get<double>() : 0.0;
    s.stopping.num_bad_epochs = es.at("num_bad_epochs").get<int>();
    s.dropout.kind = j.at("dropout").at("kind").get<std::string>();
    s.dropout.state = j.at("dropout").at("state").get<std::string>();
    for (const auto& r : j.at("history")) s.history.push_back(history_from_line(r.dump(), file.string()));
  } catch (const json::exception& e) {
    fail(file, std::string("bad training state: ") + e.what());
  }
  if (s.epoch < 0 || s.batches_done < 0 || s.steps < 0 || static_cast<std::size_t>(s.epoch) != s.history.size())
    fail(file, "inconsistent training state (epoch " + std::to_string(s.epoch) + ", " +
                   std::to_string(s.history.size()) + " history records)");
  try {
    model.validate();
  } catch (const Error& e) {
    fail(file, std::string("bad model settings: ") + e.what());
  }
  // The model loader's bounds, before the tables are built.
  if (model.nfft > kMaxFftSize || model.hidden_size > kMaxHiddenSize || model.nb_layers > 64)
    fail(file, "bad model settings: " + model.describe() + " is beyond the supported sizes");
  check_resumed_state(file, s);

  st::verify_checksum(f, file.string(), meta->second);
  Checkpoint c{std::move(s), UmxWeights(model), {}};
  for (const auto& e : c.weights.table.entries()) {
    const auto values = st::as_f32(require(f, file, "model." + e.name, st::DType::F32, e.shape));
    require_finite(file, "model." + e.name, values);
    std::copy(values.begin(), values.end(), c.weights.values.begin() + static_cast<std::ptrdiff_t>(e.offset));
  }
  for (int i = 0; i < 3; ++i)
    c.weights.num_batches_tracked[i] = st::as_i64(require(f, file, bn_counter_name(i), st::DType::I64, {})).front();
  const auto trainable = static_cast<std::int64_t>(c.weights.table.trainable_size());
  c.adam.exp_avg = st::as_f32(require(f, file, "adam.exp_avg", st::DType::F32, {trainable}));
  c.adam.exp_avg_sq = st::as_f32(require(f, file, "adam.exp_avg_sq", st::DType::F32, {trainable}));
  c.adam.step = st::as_i64(require(f, file, "adam.step", st::DType::I64, {})).front();
  require_finite(file, "adam.exp_avg", c.adam.exp_avg);
  require_finite(file, "adam.exp_avg_sq", c.adam.exp_avg_sq);
  if (c.adam.step < 0 || c.adam.step > c.state.steps)
    fail(file, "damaged training state: Adam's step " + std::to_string(c.adam.step) + " is not within the run's " +
                   std::to_string(c.state.steps) + " steps");
  return c;
}

}  // namespace unmix::train
