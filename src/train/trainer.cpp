// The training loop (see trainer.h): epochs of excerpt steps, whole-track validation, plateau and early
// stopping, best-model export, checkpoints, history and curves.
#include "unmix/train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>
#include <vector>

#include "unmix/clock_text.h"
#include "unmix/cpu/non_finite.h"
#include "unmix/data/cache.h"
#include "unmix/data/loader.h"
#include "unmix/data/preprocess.h"
#include "unmix/error.h"
#include "unmix/model_dir.h"
#include "unmix/separator.h"
#include "unmix/train/checkpoint.h"

namespace unmix::train {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using json = nlohmann::ordered_json;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string fmt(const char* format, double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, value);
  return buf;
}

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Each epoch has its own loader seed, so a resumed run rebuilds any epoch's batches without replaying the
// ones before it.
std::uint64_t epoch_seed(std::uint64_t seed, std::int64_t epoch) {
  return splitmix64(splitmix64(seed) ^ static_cast<std::uint64_t>(epoch));
}

// The loader's augmentation settings from the run's (validated) config.
data::LoaderOptions augmented_options(const TrainConfig& c) {
  data::LoaderOptions o;
  o.mono_probability = c.mono_probability;
  o.tilt_probability = c.tilt_probability;
  o.tilt_db_per_octave_max = c.tilt_db_per_octave_max;
  o.resample_probability = c.resample_probability;
  o.resample_rates = data::parse_rates(c.resample_rates, "--resample-rates");
  o.codec_probability = c.codec_probability;
  o.codecs = data::parse_codecs(c.codecs, "--codecs");
  o.codec_kbps_min = c.codec_kbps_min;
  o.codec_kbps_max = c.codec_kbps_max;
  return o;
}

// Progress lines go to the caller and to <output>/train.log.
// With several ranks only rank 0 logs (`enabled`).
class Log {
 public:
  Log(std::function<void(const std::string&)> sink, fs::path file, bool enabled)
      : sink_(std::move(sink)), file_(std::move(file)), enabled_(enabled) {}
  void operator()(const std::string& line) const {
    if (!enabled_) return;
    if (sink_) sink_(line);
    else std::fprintf(stderr, "%s\n", line.c_str());
    if (std::FILE* f = std::fopen(file_.c_str(), "a")) {
      std::fprintf(f, "%s\n", line.c_str());
      std::fclose(f);
    }
  }

 private:
  std::function<void(const std::string&)> sink_;
  fs::path file_;
  bool enabled_;
};

bool stop_requested(const TrainerHooks& hooks) { return hooks.stop && hooks.stop->load(); }

// The cache's manifest name (index.json), the default target name.
std::string cache_manifest_name(const fs::path& cache_dir) {
  std::ifstream in(cache_dir / "index.json", std::ios::binary);
  try {
    const json j = json::parse(in);
    if (j.contains("manifest") && j["manifest"].contains("name") && j["manifest"]["name"].is_string())
      return j["manifest"]["name"].get<std::string>();
  } catch (const json::exception&) {
  }
  return {};
}

// Completing an existing cache with other settings would rebuild its tracks one by one over the old ones:
// it keeps its own sample rate (as --sample-rate's help says), and other channels or STFT sizes are refused.
void adopt_existing_cache(const TrainConfig& config, data::PreprocessOptions& options, const Log& log) {
  const fs::path index_file = fs::path(config.cache) / "index.json";
  std::error_code ec;
  if (!fs::exists(index_file, ec)) return;
  std::ifstream in(index_file, std::ios::binary);
  json j;
  try {
    j = json::parse(in);
  } catch (const json::exception& e) {
    fail(index_file, std::string("existing cache index is not valid JSON (remove the cache to rebuild it): ") + e.what());
  }
  const auto number = [&](const char* key) {
    if (!j.contains(key) || !j[key].is_number_integer()) fail(index_file, std::string("existing cache index has no '") + key + "'");
    return j[key].get<std::int64_t>();
  };
  const std::int64_t rate = number("sample_rate"), channels = number("channels");
  const std::string mismatch = " (give the cache's settings, another --cache, or remove it to rebuild)";
  if (channels != options.read.channels)
    fail(config.cache, "the existing cache has " + std::to_string(channels) + " channel(s), this run asks for " +
                           std::to_string(options.read.channels) + " (--nb-channels)" + mismatch);
  if (rate != options.read.sample_rate) {
    log("note: the existing cache " + config.cache + " keeps its sample rate " + std::to_string(rate) + " Hz (not " +
        std::to_string(options.read.sample_rate) + ")");
    options.read.sample_rate = static_cast<int>(rate);
  }
  if (j.contains("statistics") && j["statistics"].is_string()) {
    const fs::path stats_file = fs::path(config.cache) / j["statistics"].get<std::string>();
    if (fs::exists(stats_file, ec)) {
      const data::CacheStatistics stats = data::read_cache_statistics(stats_file);
      if (stats.n_fft != options.n_fft || stats.n_hop != options.n_hop)
        fail(config.cache, "the existing cache's statistics use nfft " + std::to_string(stats.n_fft) + " / nhop " +
                               std::to_string(stats.n_hop) + ", this run asks for " + std::to_string(options.n_fft) +
                               " / " + std::to_string(options.n_hop) + " (--nfft/--nhop)" + mismatch);
    }
  }
}

void build_cache(const TrainConfig& config, const Log& log, const std::atomic<bool>* stop) {
  data::PreprocessOptions options;
  options.read.sample_rate = config.sample_rate;
  options.read.channels = config.nb_channels;
  options.n_fft = config.nfft;
  options.n_hop = config.nhop;
  adopt_existing_cache(config, options, log);
  auto last = Clock::now() - std::chrono::hours(1);
  const data::Manifest manifest = data::load_manifest(config.manifest);
  log("preparing the cache " + config.cache + " from " + config.root + " (" + std::to_string(manifest.tracks.size()) +
      " tracks; finished tracks are reused)");
  const auto report = data::preprocess(
      manifest, config.root, config.cache, options,
      [&](const data::PreprocessProgress& p) {
        if (Clock::now() - last < std::chrono::seconds(10) && p.done != p.total) return;
        last = Clock::now();
        log("  " + p.stage + " " + std::to_string(p.done) + "/" + std::to_string(p.total) + "  ETA " +
            clock_text(p.seconds_left));
      },
      stop);
  for (const auto& issue : report.issues)
    if (issue.fatal()) log("note: " + issue.to_string());
  if (report.interrupted) fail(config.cache, "interrupted while preparing the cache; run again to continue");
}

ModelConfig model_config(const TrainConfig& c, const data::Cache& cache) {
  ModelConfig m;
  m.nfft = c.nfft;
  m.nhop = c.nhop;
  m.nb_bins = c.nfft / 2 + 1;
  m.nb_channels = c.nb_channels;
  m.hidden_size = c.hidden_size;
  m.sample_rate = cache.sample_rate();
  m.bandwidth = c.bandwidth;
  m.max_bin = bandwidth_to_max_bin(m.sample_rate, m.nfft, m.bandwidth);
  m.validate();
  return m;
}

void check_cache(const TrainConfig& c, const data::Cache& cache) {
  const std::string dir = cache.dir().string();
  if (!cache.has_statistics()) fail(dir, "the cache has no input statistics (preprocess without --no-stats)");
  const auto& stats = cache.statistics();
  if (stats.n_fft != c.nfft || stats.n_hop != c.nhop)
    fail(dir, "the cache's statistics were computed with nfft " + std::to_string(stats.n_fft) + " / nhop " +
                  std::to_string(stats.n_hop) + ", the model uses " + std::to_string(c.nfft) + " / " +
                  std::to_string(c.nhop) + " (preprocess again with --nfft/--nhop)");
  if (cache.channels() != c.nb_channels)
    fail(dir, "the cache has " + std::to_string(cache.channels()) + " channel(s), the model " +
                  std::to_string(c.nb_channels) + " (--nb-channels, or preprocess with --channels)");
}

// --model: a <target>.json file, or a folder holding exactly one model (list_targets).
std::pair<fs::path, std::string> model_to_fine_tune(const fs::path& path) {
  if (path.extension() == ".json" && !fs::is_directory(path)) return {path.parent_path(), path.stem().string()};
  if (!fs::is_directory(path)) fail(path, "no model to fine-tune (a model folder or its <target>.json)");
  const std::vector<std::string> names = list_targets(path);
  if (names.empty()) fail(path, "holds no model to fine-tune (<target>.json with <target>.safetensors)");
  if (names.size() > 1) {
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    fail(path, "holds several models (" + list + "): name one as " + (path / (names[0] + ".json")).string());
  }
  return {path, names[0]};
}

bool same_model(const ModelConfig& a, const ModelConfig& b) {
  return a.nfft == b.nfft && a.nhop == b.nhop && a.nb_bins == b.nb_bins && a.max_bin == b.max_bin &&
         a.nb_channels == b.nb_channels && a.hidden_size == b.hidden_size && a.nb_layers == b.nb_layers &&
         a.sample_rate == b.sample_rate;
}

// openunmix's <target>.json training summary, merged into the model json by save_model.
std::string summary_json(const TrainState& s, const std::string& device) {
  json train_losses = json::array(), valid_losses = json::array(), times = json::array();
  for (const auto& r : s.history) {
    train_losses.push_back(r.train_loss);
    valid_losses.push_back(r.valid_loss);
    times.push_back(r.seconds);
  }
  return json{{"epochs_trained", s.epoch},
              {"best_loss", s.stopping.best},
              {"best_epoch", s.best_epoch},
              {"train_loss_history", train_losses},
              {"valid_loss_history", valid_losses},
              {"train_time_history", times},
              {"num_bad_epochs", s.stopping.num_bad_epochs},
              {"steps", s.steps},
              {"lr", s.lr},
              {"device", device},
              {"args", json::parse(config_to_json(s.config))}}
      .dump();
}

class Trainer {
 public:
  Trainer(const RunRequest& request, const TrainerHooks& hooks) : hooks_(hooks) {
    if (!hooks_.communicator) {
      alone_ = parallel::make_single_process();
      hooks_.communicator = alone_.get();
    }
    comm_ = hooks_.communicator;
    setup(request);
  }
  TrainResult run();

 private:
  void setup(const RunRequest& request);
  std::unique_ptr<data::Loader> train_loader(std::int64_t epoch) const;
  // The engine's weights and Adam moments into weights_ / adam_; names what is not finite (empty: all are).
  std::string read_checked_state();
  std::string save_state();                           // engine -> checkpoint, unless read_checked_state objects
  // After every step: names a non-finite parameter or gradient the step left on any rank (empty: none).
  std::string non_finite_after(const StepResult& step);
  bool stop_everywhere(const char* where);             // the stop flag of any rank
  void average_running_statistics();                   // GPU ranks
  TrainResult finish(Outcome outcome, std::string message);
  // The engine, and the ranks when there are several ("cpu x 2 ranks (MPI)").
  std::string description() const {
    return comm_->size() == 1 ? engine_->description()
                              : engine_->description() + " x " + std::to_string(comm_->size()) + " ranks (MPI)";
  }
  TrainResult diverged(const std::string& what, std::int64_t epoch, std::int64_t batch);

  TrainerHooks hooks_;
  std::unique_ptr<parallel::Communicator> alone_;
  parallel::Communicator* comm_ = nullptr;
  TrainConfig config_;
  std::optional<Log> log_;
  std::optional<data::Cache> cache_;
  std::optional<UmxWeights> weights_;
  cpu::AdamState adam_;
  TrainState state_;
  std::unique_ptr<TrainEngine> engine_;
  std::int64_t batches_per_epoch_ = 0;
  int valid_chunk_frames_ = 0;
  std::size_t train_tracks_ = 0, valid_tracks_ = 0;
  bool has_checkpoint_ = false;
};

void Trainer::setup(const RunRequest& request) {
  std::optional<Checkpoint> resumed;
  if (!request.resume.empty()) {
    const fs::path file = fs::is_directory(request.resume) ? checkpoint_path(request.resume) : request.resume;
    if (!fs::exists(file)) fail(file, "no checkpoint to resume from");
    try {
      resumed.emplace(load_checkpoint(file));
    } catch (const Error& e) {
      throw Error(std::string(e.what()) + "; --resume cannot continue from it: restore a backup copy of the " +
                  "checkpoint, or start a new run in another --output (the best model saved here stays usable)");
    }
    config_ = merge_for_resume(resumed->state.config, request.config, request.given);
    const fs::path run_dir = file.parent_path().empty() ? fs::path(".") : file.parent_path();
    if (std::find(request.given.begin(), request.given.end(), "output") != request.given.end() &&
        fs::weakly_canonical(request.config.output) != fs::weakly_canonical(run_dir))
      fail("--output", "a resumed run continues in its own directory " + run_dir.string());
    config_.output = run_dir.string();
  } else {
    config_ = request.config;
  }
  validate(config_);
  const fs::path output = config_.output;
  fs::create_directories(output);
  remove_stale_temp_files(output);  // of a run killed while it wrote
  log_.emplace(hooks_.log, output / "train.log", comm_->is_root());
  if (config_.batch_size < comm_->size())
    fail("--batch-size", "the global batch of " + std::to_string(config_.batch_size) + " cannot be shared by " +
                             std::to_string(comm_->size()) + " ranks (at least one item each)");
  if (!resumed && fs::exists(checkpoint_path(output)))
    fail(output, "already holds a training run (checkpoint.safetensors); resume it with --resume " + output.string() +
                     " or choose another --output");

  if (!config_.root.empty() && comm_->is_root()) build_cache(config_, *log_, hooks_.stop);
  comm_->barrier_untimed();  // the cache is ready for every rank
  cache_.emplace(data::Cache::open(config_.cache));
  check_cache(config_, *cache_);
  const ModelConfig model = model_config(config_, *cache_);

  if (resumed) {
    if (!same_model(resumed->weights.config, model))
      fail(config_.cache, "the cache does not fit the checkpoint's model (" + resumed->weights.config.describe() +
                              " vs " + model.describe() + ")");
    state_ = std::move(resumed->state);
    state_.config = config_;
    weights_.emplace(std::move(resumed->weights));
    adam_ = std::move(resumed->adam);
    has_checkpoint_ = true;
  } else {
    state_.config = config_;
    state_.target = config_.target.empty() ? cache_manifest_name(config_.cache) : config_.target;
    if (state_.target.empty()) state_.target = "target";
    state_.lr = config_.lr;
    state_.scheduler.factor = config_.lr_decay_gamma;
    state_.scheduler.patience = config_.lr_decay_patience;
    state_.scheduler.cooldown = config_.lr_decay_cooldown;
    state_.stopping.patience = config_.patience;
    if (config_.model.empty()) {
      weights_.emplace(model);
      weights_->init_random(config_.seed);
      data::apply_cache_statistics(*weights_, cache_->statistics());
    } else {
      // As openunmix's --model: the trained scaling stays (its statistics came from another cache, and
      // were trained since), and the optimizer starts fresh.
      const auto [dir, name] = model_to_fine_tune(config_.model);
      UmxWeights start = load_model(dir, name);
      if (!same_model(start.config, model))
        fail(model_json_path(dir, name), "cannot be fine-tuned by this run: the model is " + start.config.describe() +
                                             ", the run's settings and cache make " + model.describe());
      weights_.emplace(std::move(start));
      (*log_)("fine-tuning " + model_json_path(dir, name).string() + " (weights and input/output scaling)");
    }
    adam_.reset(weights_->table.trainable_size());
  }

  EngineOptions engine_options = hooks_.engine;
  engine_options.device = config_.device;
  engine_options.tf32 = config_.tf32;
  engine_options.dropout_seed = config_.seed;
  engine_options.communicator = comm_;
  engine_ = make_engine(model, engine_options);
  engine_->write_state(*weights_, adam_);
  if (resumed && !engine_->set_dropout_state(state_.dropout))
    (*log_)("note: the checkpoint's dropout stream comes from another device (" + state_.dropout.kind +
            "); dropout continues with a fresh stream, so this run will not match an uninterrupted one bit for bit");

  data::LoaderOptions train_options = augmented_options(config_);
  train_options.seq_dur = config_.seq_dur;
  // What validate() cannot know: whether the cache's rate suits the codecs and the resampling ratios.
  if (config_.resample_probability > 0)
    for (int rate : train_options.resample_rates)
      if (const std::string p = data::round_trip_problem(cache_->sample_rate(), rate); !p.empty())
        fail("--resample-rates", p);
  if (config_.codec_probability > 0)
    for (data::Codec codec : train_options.codecs)
      if (const std::string p = data::codec_problem(codec, cache_->sample_rate()); !p.empty()) fail("--codecs", p);
  train_tracks_ = data::Loader::eligible_tracks(*cache_, train_options).size();
  if (train_tracks_ < 2)
    fail(config_.cache, "training needs at least two train tracks of at least " + fmt("%g", config_.seq_dur) +
                            " s (found " + std::to_string(train_tracks_) + ")");
  batches_per_epoch_ = (static_cast<std::int64_t>(train_tracks_) * config_.samples_per_track + config_.batch_size - 1) /
                       config_.batch_size;
  data::LoaderOptions valid_options;
  valid_options.mode = data::LoaderOptions::Mode::WholeTracks;
  valid_options.split = data::Split::Valid;
  valid_tracks_ = data::Loader::eligible_tracks(*cache_, valid_options).size();
  if (valid_tracks_ == 0) fail(config_.cache, "no valid track (make the manifest with a validation share)");
  valid_chunk_frames_ = config_.valid_chunk_dur > 0
                            ? std::max(1, static_cast<int>(std::lround(config_.valid_chunk_dur * cache_->sample_rate() /
                                                                        config_.nhop)))
                            : 0;
}

std::unique_ptr<data::Loader> Trainer::train_loader(std::int64_t epoch) const {
  data::LoaderOptions o = augmented_options(config_);
  o.mode = data::LoaderOptions::Mode::Excerpts;
  o.split = data::Split::Train;
  o.seq_dur = config_.seq_dur;
  o.batch_size = config_.batch_size;
  o.samples_per_track = config_.samples_per_track;
  o.seed = epoch_seed(config_.seed, epoch);
  o.workers = config_.nb_workers;
  o.max_batches = batches_per_epoch_;
  // This rank's items of every global batch: a contiguous share, the later ranks one more when uneven.
  const std::int64_t B = config_.batch_size, P = comm_->size(), r = comm_->rank();
  o.shard_offset = static_cast<int>(B * r / P);
  o.shard_size = static_cast<int>(B * (r + 1) / P) - o.shard_offset;
  o.prefetch = std::max(2, config_.nb_workers);  // enough ring slots to keep every worker busy
  return std::make_unique<data::Loader>(*cache_, o, engine_->host_allocator());
}

std::string Trainer::read_checked_state() {
  engine_->read_state(*weights_, adam_);
  for (const auto& e : weights_->table.entries())
    if (cpu::count_non_finite(weights_->values.data() + e.offset, e.numel()) > 0) return "parameter '" + e.name + "'";
  if (cpu::count_non_finite(adam_.exp_avg.data(), adam_.exp_avg.size()) > 0) return "Adam's first moment (of the gradients)";
  if (cpu::count_non_finite(adam_.exp_avg_sq.data(), adam_.exp_avg_sq.size()) > 0)
    return "Adam's second moment (of the gradients)";
  return {};
}

std::string Trainer::non_finite_after(const StepResult& step) {
  // A huge step can make weights non-finite while the step's loss (computed before the update) and even the
  // next ones still look finite: the engine's scan stops the run at the step that did it. Collective, so
  // every rank stops at the same step.
  const bool here = step.non_finite_parameters > 0 || step.non_finite_gradients > 0;
  if (!comm_->any(here, "non-finite check")) return {};
  if (step.non_finite_parameters > 0) {
    // The rare path: download the state to name the first bad parameter.
    const std::string named = read_checked_state();
    return named.rfind("parameter", 0) == 0 ? named : "a parameter";
  }
  return here ? "a gradient" : "a parameter or gradient of another rank";
}

std::string Trainer::save_state() {
  if (std::string bad = read_checked_state(); !bad.empty()) return bad;  // never checkpoint a NaN
  has_checkpoint_ = true;
  if (!comm_->is_root()) return {};  // every rank holds the same state; one writes it
  state_.dropout = engine_->dropout_state();
  save_checkpoint(checkpoint_path(config_.output), state_, *weights_, adam_);
  return {};
}

// GPU ranks normalize with their own shard's BatchNorm statistics, so their running statistics drift apart;
// once per epoch, before validation, every rank takes their mean. (CPU ranks share the whole batch's
// statistics and hold the same running statistics already.)
void Trainer::average_running_statistics() {
  engine_->read_state(*weights_, adam_);
  const std::size_t first = weights_->table.trainable_size();
  std::vector<double> stats(weights_->values.begin() + static_cast<std::ptrdiff_t>(first), weights_->values.end());
  comm_->sum(stats, "running statistics");
  for (std::size_t i = 0; i < stats.size(); ++i)
    weights_->values[first + i] = static_cast<float>(stats[i] / comm_->size());
  engine_->write_state(*weights_, adam_);
}

bool Trainer::stop_everywhere(const char* where) {
  return comm_->any(stop_requested(hooks_), where);
}

TrainResult Trainer::finish(Outcome outcome, std::string message) {
  TrainResult r;
  r.outcome = outcome;
  r.message = std::move(message);
  r.output = config_.output;
  r.target = state_.target;
  r.device = description();
  r.epochs = state_.epoch;
  r.steps = state_.steps;
  r.best_epoch = state_.best_epoch;
  r.best_loss = state_.stopping.has_best ? state_.stopping.best : 0.0;
  r.history = state_.history;
  return r;
}

TrainResult Trainer::diverged(const std::string& what, std::int64_t epoch, std::int64_t batch) {
  std::string message = what + " is not finite at epoch " + std::to_string(epoch) +
                        (batch > 0 ? ", batch " + std::to_string(batch) : std::string()) + " (step " +
                        std::to_string(state_.steps) + ", lr " + fmt("%.3g", state_.lr) + "); training stopped. ";
  message += has_checkpoint_ ? "The last good checkpoint is " + checkpoint_path(config_.output).string() + " (epoch " +
                                   std::to_string(state_.epoch) + ")"
                             : std::string("No checkpoint was written yet");
  if (state_.best_epoch > 0)
    message += "; the best model (epoch " + std::to_string(state_.best_epoch) + ") is " +
               model_weights_path(config_.output, state_.target).string();
  message += ". Try a lower --lr.";
  (*log_)("error: " + message);
  return finish(Outcome::Diverged, message);
}

TrainResult Trainer::run() {
  const Log& log = *log_;
  log("training '" + state_.target + "' on " + description() + ": " + weights_->config.describe());
  log("  " + std::to_string(train_tracks_) + " train / " + std::to_string(valid_tracks_) + " valid tracks, " +
      std::to_string(batches_per_epoch_) + " steps of " + std::to_string(config_.batch_size) + " x " +
      fmt("%g", config_.seq_dur) + " s per epoch, up to " + std::to_string(config_.epochs) + " epochs; output " +
      config_.output);
  const TrainConfig& c = config_;
  if (c.mono_probability > 0 || c.tilt_probability > 0 || c.resample_probability > 0 || c.codec_probability > 0)
    log("  input augmentations per excerpt: mono " + fmt("%g", c.mono_probability) + ", tilt " +
        fmt("%g", c.tilt_probability) + " (up to " + fmt("%g", c.tilt_db_per_octave_max) + " dB/octave), resample " +
        fmt("%g", c.resample_probability) + " (via " + c.resample_rates + " Hz), codec " +
        fmt("%g", c.codec_probability) + " (" + c.codecs + ", " + std::to_string(c.codec_kbps_min) + "-" +
        std::to_string(c.codec_kbps_max) + " kbps)");
  if (state_.epoch > 0 || state_.batches_done > 0)
    log("  resuming after epoch " + std::to_string(state_.epoch) +
        (state_.batches_done > 0 ? " and " + std::to_string(state_.batches_done) + " steps of the next" : std::string()) +
        ", lr " + fmt("%.3g", state_.lr));
  if (state_.stopping.patience > 0 && state_.stopping.num_bad_epochs >= state_.stopping.patience)
    return finish(Outcome::EarlyStopped, "the run had already stopped early (no improvement for " +
                                             std::to_string(state_.stopping.num_bad_epochs) + " epochs)");

  cpu::AdamOptions adam_options;
  adam_options.weight_decay = config_.weight_decay;
  const std::int64_t samples_per_step = config_.batch_size;
  double epoch_seconds_total = 0;
  int epochs_timed = 0;
  std::unique_ptr<data::Loader> prefetched;

  while (state_.epoch < config_.epochs) {
    const std::int64_t epoch = state_.epoch + 1;
    const auto epoch_start = Clock::now();
    const double epoch_lr = state_.lr;
    adam_options.lr = state_.lr;

    // ---- training steps ----
    if (state_.batches_done < batches_per_epoch_) {
      std::unique_ptr<data::Loader> loader = prefetched ? std::move(prefetched) : train_loader(epoch);
      for (std::int64_t skip = 0; skip < state_.batches_done; ++skip)  // already trained before an interruption
        if (!loader->next()) fail("loader", "ended early");
      const auto start = Clock::now();
      const double train_before = state_.partial_train_seconds, wait_before = state_.partial_wait_seconds;
      double wait = 0;
      auto last_progress = Clock::now();
      const std::int64_t first_batch = state_.batches_done;
      while (state_.batches_done < batches_per_epoch_) {
        const auto wait_start = Clock::now();
        std::optional<data::BatchLease> batch = loader->next();
        wait += seconds_since(wait_start);
        if (!batch) fail("loader", "ended before the epoch's last batch");
        const StepResult step = engine_->train_step(**batch, adam_options);
        const double loss = step.loss;
        batch.reset();
        state_.steps += 1;
        state_.batches_done += 1;
        if (!std::isfinite(loss)) return diverged("the training loss", epoch, state_.batches_done);
        if (std::string bad = non_finite_after(step); !bad.empty()) return diverged(bad, epoch, state_.batches_done);
        state_.partial_loss_sum += loss;
        state_.partial_train_seconds = train_before + seconds_since(start);
        state_.partial_wait_seconds = wait_before + wait;
        if (hooks_.after_step) hooks_.after_step(state_.steps);
        if (seconds_since(last_progress) >= config_.progress_seconds && state_.batches_done < batches_per_epoch_) {
          last_progress = Clock::now();
          const double elapsed = seconds_since(start);
          const double rate = static_cast<double>(state_.batches_done - first_batch) / elapsed;
          log("  epoch " + std::to_string(epoch) + "  step " + std::to_string(state_.batches_done) + "/" +
              std::to_string(batches_per_epoch_) + "  loss " +
              fmt("%.5g", state_.partial_loss_sum / static_cast<double>(state_.batches_done)) + "  " +
              fmt("%.2f", rate) + " steps/s  data wait " + fmt("%.1f", 100 * wait / elapsed) + "%  epoch ETA " +
              clock_text(static_cast<double>(batches_per_epoch_ - state_.batches_done) / rate));
        }
        if (stop_everywhere("stop flag")) {
          loader.reset();
          if (std::string bad = save_state(); !bad.empty()) return diverged(bad, epoch, state_.batches_done);
          return finish(Outcome::Interrupted, "interrupted at epoch " + std::to_string(epoch) + ", step " +
                                                  std::to_string(state_.batches_done) + "/" +
                                                  std::to_string(batches_per_epoch_) + "; checkpoint written");
        }
      }
    }
    if (comm_->size() > 1 && engine_->is_gpu()) average_running_statistics();
    // A huge step can make weights non-finite while the loss still looks finite (saturated masks): the
    // weights themselves are checked before anything is validated or saved.
    if (std::string bad = read_checked_state(); !bad.empty()) return diverged(bad, epoch, state_.batches_done);
    const double train_seconds = state_.partial_train_seconds, wait_seconds = state_.partial_wait_seconds;
    const double train_loss = state_.partial_loss_sum / static_cast<double>(batches_per_epoch_);

    // ---- validation, with the next epoch's batches being prepared meanwhile ----
    if (epoch < config_.epochs) prefetched = train_loader(epoch + 1);
    const auto valid_start = Clock::now();
    data::LoaderOptions valid_options;
    valid_options.mode = data::LoaderOptions::Mode::WholeTracks;
    valid_options.split = data::Split::Valid;
    valid_options.workers = 1;
    valid_options.prefetch = 1;
    // Rank r validates tracks r, r + P, ...; the per-track losses are then added up in track order, so the
    // validation loss is the one-process loss whatever the rank count.
    valid_options.track_offset = comm_->rank();
    valid_options.track_stride = comm_->size();
    std::vector<double> track_mse(valid_tracks_, 0.0), track_counted(valid_tracks_, 0.0);
    {
      data::Loader valid(*cache_, valid_options, engine_->host_allocator());
      while (auto track = valid.next()) {
        if (comm_->size() == 1 && stop_requested(hooks_)) {  // with ranks: at the end of the epoch, all together
          prefetched.reset();
          if (std::string bad = save_state(); !bad.empty()) return diverged(bad, epoch, 0);
          return finish(Outcome::Interrupted, "interrupted during the validation of epoch " + std::to_string(epoch) +
                                                  "; checkpoint written (resuming validates again)");
        }
        const ValidationSum sum = engine_->validate(**track, valid_chunk_frames_);
        if (sum.count == 0) continue;  // shorter than one STFT frame
        const auto position = static_cast<std::size_t>((*track)->index * comm_->size() + comm_->rank());
        track_mse[position] = sum.squared_error / static_cast<double>(sum.count);
        track_counted[position] = 1.0;
      }
    }
    comm_->sum(track_mse, "validation losses");
    comm_->sum(track_counted, "validation losses");
    double valid_sum = 0;
    int valid_counted = 0;
    for (std::size_t t = 0; t < valid_tracks_; ++t)
      if (track_counted[t] > 0) {
        valid_sum += track_mse[t];
        valid_counted += 1;
      }
    if (valid_counted == 0) fail(config_.cache, "no valid track is long enough for one STFT frame");
    const double valid_loss = valid_sum / valid_counted;
    const double valid_seconds = seconds_since(valid_start);
    if (!std::isfinite(valid_loss)) return diverged("the validation loss", epoch, 0);

    // ---- openunmix's per-epoch decisions ----
    state_.lr = state_.scheduler.step(valid_loss, state_.lr);
    const bool stop_early = state_.stopping.step(valid_loss);
    const bool is_best = valid_loss == state_.stopping.best;
    if (is_best) state_.best_epoch = epoch;

    EpochRecord record;
    record.epoch = epoch;
    record.train_loss = train_loss;
    record.valid_loss = valid_loss;
    record.lr = epoch_lr;
    record.train_seconds = train_seconds;
    record.valid_seconds = valid_seconds;
    record.seconds = train_seconds + valid_seconds;
    record.samples_per_second =
        train_seconds > 0 ? static_cast<double>(batches_per_epoch_ * samples_per_step) / train_seconds : 0.0;
    record.data_wait_share = train_seconds > 0 ? wait_seconds / train_seconds : 0.0;
    record.steps = state_.steps;
    record.best = is_best;
    state_.history.push_back(record);
    state_.epoch = epoch;
    state_.batches_done = 0;
    state_.partial_loss_sum = state_.partial_train_seconds = state_.partial_wait_seconds = 0;

    // ---- outputs: best model, checkpoint, history, curves ----
    // (rank 0 only writes: every rank holds the same weights, moments and history)
    if (std::string bad = read_checked_state(); !bad.empty()) return diverged(bad, epoch, 0);
    if (is_best && comm_->is_root())
      save_model(config_.output, state_.target, *weights_, summary_json(state_, description()));
    if (std::string bad = save_state(); !bad.empty()) return diverged(bad, epoch, 0);
    if (comm_->is_root()) {
      write_history(fs::path(config_.output) / "history.jsonl", state_.history);
      write_loss_curves(fs::path(config_.output) / "loss.svg", state_.history,
                        "Open-Unmix '" + state_.target + "': MSE loss per epoch (best " +
                            fmt("%.4g", state_.stopping.best) + " at epoch " + std::to_string(state_.best_epoch) + ")");
    }

    epoch_seconds_total += seconds_since(epoch_start);
    epochs_timed += 1;
    const double eta = epoch_seconds_total / epochs_timed * static_cast<double>(config_.epochs - epoch);
    log("epoch " + std::to_string(epoch) + "/" + std::to_string(config_.epochs) + "  train " + fmt("%.5g", train_loss) +
        "  valid " + fmt("%.5g", valid_loss) + (is_best ? " *" : "  ") + " best " + fmt("%.5g", state_.stopping.best) +
        " (epoch " + std::to_string(state_.best_epoch) + ")  lr " + fmt("%.3g", epoch_lr) + "  " +
        fmt("%.1f", record.seconds) + " s  " + fmt("%.1f", record.samples_per_second) + " samples/s  data wait " +
        fmt("%.1f", 100 * record.data_wait_share) + "%  ETA " + (epoch < config_.epochs ? "<= " : "") +
        clock_text(eta));
    if (state_.lr != epoch_lr) log("  plateau: learning rate " + fmt("%.3g", epoch_lr) + " -> " + fmt("%.3g", state_.lr));
    if (stop_early)
      return finish(Outcome::EarlyStopped, "early stopping after epoch " + std::to_string(epoch) + ": no improvement for " +
                                               std::to_string(state_.stopping.num_bad_epochs) + " epochs");
    if (stop_everywhere("stop flag"))
      return finish(Outcome::Interrupted, "interrupted after epoch " + std::to_string(epoch) + "; checkpoint written");
  }
  return finish(Outcome::Finished, "finished " + std::to_string(state_.epoch) + " epochs");
}

}  // namespace

TrainConfig merge_for_resume(const TrainConfig& saved, const TrainConfig& requested,
                             const std::vector<std::string>& given) {
  TrainConfig merged = saved;
  for (const std::string& key : given) {
    const ConfigField* field = find_field(key);
    if (!field) fail("resume", "unknown setting '" + key + "'");
    if (key == "output") continue;  // the run directory is where the checkpoint is
    if (field->resumable) copy_field(merged, requested, *field);
    else if (!same_value(saved, requested, *field))
      fail(field->flag, "cannot change when resuming (the run has " + field_text(saved, *field) + ", asked for " +
                            field_text(requested, *field) + ")");
  }
  return merged;
}

TrainResult run_training(const RunRequest& request, const TrainerHooks& hooks) {
  Trainer trainer(request, hooks);
  return trainer.run();
}

}  // namespace unmix::train
