// Training settings: the field table, JSON in and out, validation.
#include "unmix/train/config.h"

#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "unmix/data/augment.h"
#include "unmix/error.h"
#include "unmix/limits.h"

namespace unmix::train {

namespace {

using json = nlohmann::ordered_json;
using C = TrainConfig;

constexpr ConfigField kFields[] = {
    {"root", "--root", "MedleyDB-layout audio root; with --manifest the cache is built (or completed) here first",
     &C::root, true},
    {"manifest", "--manifest", "manifest JSON (tools/make_manifests)", &C::manifest, true},
    {"cache", "--cache", "training cache directory (tools/preprocess); required", &C::cache, true},
    {"target", "--target", "target name for the output files <output>/<target>.{json,safetensors} "
                           "(default: the cache's manifest name; openunmix: vocals)", &C::target, false},
    {"output", "--output", "output directory: best model, checkpoint, history, loss curves", &C::output, false},
    {"sample_rate", "--sample-rate", "sample rate of a cache built here (an existing cache keeps its own)",
     &C::sample_rate, false},
    {"epochs", "--epochs", "maximum number of epochs", &C::epochs, true},
    {"batch_size", "--batch-size", "excerpts per training step", &C::batch_size, false},
    {"seq_dur", "--seq-dur", "excerpt length in seconds", &C::seq_dur, false},
    {"samples_per_track", "--samples-per-track", "excerpts per training track per epoch", &C::samples_per_track, false},
    // Augmentations change the batches, so a resumed run keeps them (not resumable).
    {"mono_probability", "--mono-probability", "share of excerpts whose mix and target are folded to mono "
                                               "(L+R)/2", &C::mono_probability, false},
    {"tilt_probability", "--tilt-probability", "share of excerpts whose mix and target get a random spectral "
                                               "tilt (EQ)", &C::tilt_probability, false},
    {"tilt_db_per_octave_max", "--tilt-db-per-octave-max", "the tilt is uniform in [-max, max] dB per octave "
                                                           "around 1 kHz (at most 6)", &C::tilt_db_per_octave_max,
     false},
    {"resample_probability", "--resample-probability", "share of excerpts whose mix (only) goes through a "
                                                       "sample-rate round trip", &C::resample_probability, false},
    {"resample_rates", "--resample-rates", "intermediate rates of the round trip, comma-separated, one drawn per "
                                           "excerpt", &C::resample_rates, false},
    {"codec_probability", "--codec-probability", "share of excerpts whose mix (only) is encoded and decoded with a "
                                                 "lossy codec", &C::codec_probability, false},
    {"codecs", "--codecs", "the lossy codecs, comma-separated subset of mp3,vorbis,opus, one drawn per excerpt",
     &C::codecs, false},
    {"codec_kbps_min", "--codec-kbps-min", "lowest codec bitrate (kbps, whole stream), drawn uniformly up to "
                                           "--codec-kbps-max", &C::codec_kbps_min, false},
    {"codec_kbps_max", "--codec-kbps-max", "highest codec bitrate (kbps, whole stream; at most 320)",
     &C::codec_kbps_max, false},
    {"lr", "--lr", "Adam learning rate", &C::lr, false},
    {"weight_decay", "--weight-decay", "Adam L2 weight decay", &C::weight_decay, false},
    {"lr_decay_patience", "--lr-decay-patience", "ReduceLROnPlateau patience (epochs)", &C::lr_decay_patience, false},
    {"lr_decay_gamma", "--lr-decay-gamma", "ReduceLROnPlateau factor", &C::lr_decay_gamma, false},
    {"lr_decay_cooldown", "--lr-decay-cooldown", "ReduceLROnPlateau cooldown (epochs)", &C::lr_decay_cooldown, false},
    {"patience", "--patience", "early stopping: epochs without a better validation loss", &C::patience, false},
    {"model", "--model", "fine-tune a trained model (openunmix's --model): a model folder holding one model, or "
                         "its <target>.json; its weights and input/output scaling replace the random start and the "
                         "cache's statistics; the model settings must match it", &C::model, false},
    {"hidden_size", "--hidden-size", "model width", &C::hidden_size, false},
    {"nb_channels", "--nb-channels", "audio channels of the model (the cache must have as many)", &C::nb_channels, false},
    {"bandwidth", "--bandwidth", "input bandwidth in Hz (sets max_bin)", &C::bandwidth, false},
    {"nfft", "--nfft", "STFT size", &C::nfft, false},
    {"nhop", "--nhop", "STFT hop", &C::nhop, false},
    {"seed", "--seed", "seed for weights, batches and dropout", &C::seed, false},
    {"device", "--device", "auto (GPU when one is usable), cuda or cpu", &C::device, true},
    {"nb_workers", "--workers", "loader threads preparing batches (openunmix: nb_workers 0 = main process; "
                                "at least 1 here)", &C::nb_workers, true},
    {"valid_chunk_dur", "--valid-chunk-dur", "validation runs on whole tracks in chunks of this many seconds so a "
                                             "long track fits in memory; 0: each track in one piece", &C::valid_chunk_dur,
     false},
    {"progress_seconds", "--progress-seconds", "seconds between progress lines within an epoch", &C::progress_seconds,
     true},
    {"tf32", "--tf32", "GPU: allow TF32 tensor cores (faster, not bit-comparable with the CPU)", &C::tf32, true},
};

std::string key_where(const std::string& source, const char* key) { return source + ": field '" + key + "'"; }

}  // namespace

std::span<const ConfigField> config_fields() { return kFields; }

const ConfigField* find_field(const std::string& key) {
  for (const auto& f : kFields)
    if (key == f.key) return &f;
  return nullptr;
}

std::vector<std::string> merge_config_json(TrainConfig& config, const std::string& json_text,
                                           const std::string& source) {
  json j;
  try {
    j = json::parse(json_text);
  } catch (const json::exception& e) {
    fail(source, std::string("not valid JSON: ") + e.what());
  }
  if (!j.is_object()) fail(source, "a training config must be a JSON object");
  std::vector<std::string> keys;
  for (const auto& item : j.items()) {
    // Not a structured binding: the lambda below captures them, which Clang < 16 cannot (the fuzz build).
    const std::string& key = item.key();
    const json& value = item.value();
    const ConfigField* field = find_field(key);
    if (!field) fail(source, "unknown field '" + key + "'");
    keys.push_back(key);
    std::visit(
        [&](auto member) {
          using T = std::remove_reference_t<decltype(config.*member)>;
          T& out = config.*member;
          if constexpr (std::is_same_v<T, std::string>) {
            if (!value.is_string()) fail(key_where(source, field->key), "must be a string");
            out = value.get<std::string>();
          } else if constexpr (std::is_same_v<T, bool>) {
            if (!value.is_boolean()) fail(key_where(source, field->key), "must be true or false");
            out = value.get<bool>();
          } else if constexpr (std::is_same_v<T, double>) {
            if (!value.is_number() || !std::isfinite(value.get<double>()))
              fail(key_where(source, field->key), "must be a finite number");
            out = value.get<double>();
          } else if constexpr (std::is_same_v<T, int>) {
            if (!value.is_number_integer() || value.get<std::int64_t>() < std::numeric_limits<int>::min() ||
                value.get<std::int64_t>() > std::numeric_limits<int>::max())
              fail(key_where(source, field->key), "must be an integer");
            out = static_cast<int>(value.get<std::int64_t>());
          } else {
            if (!value.is_number_unsigned()) fail(key_where(source, field->key), "must be a non-negative integer");
            out = value.get<std::uint64_t>();
          }
        },
        field->member);
  }
  return keys;
}

std::vector<std::string> merge_config_file(TrainConfig& config, const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) fail(file, "cannot open the training config");
  std::ostringstream text;
  text << in.rdbuf();
  return merge_config_json(config, text.str(), file.string());
}

std::string config_to_json(const TrainConfig& config, int indent) {
  json j = json::object();
  for (const auto& f : kFields) std::visit([&](auto member) { j[f.key] = config.*member; }, f.member);
  return j.dump(indent);
}

std::string field_text(const TrainConfig& config, const ConfigField& field) {
  return std::visit([&](auto member) { return json(config.*member).dump(); }, field.member);
}

bool same_value(const TrainConfig& a, const TrainConfig& b, const ConfigField& field) {
  return std::visit([&](auto member) { return a.*member == b.*member; }, field.member);
}

void copy_field(TrainConfig& to, const TrainConfig& from, const ConfigField& field) {
  std::visit([&](auto member) { to.*member = from.*member; }, field.member);
}

void validate(const TrainConfig& c) {
  auto require = [](bool ok, const char* flag, const std::string& what) {
    if (!ok) fail(flag, what);
  };
  require(!c.cache.empty(), "--cache", "is required (the training cache; give --root and --manifest to build it)");
  require(c.root.empty() == c.manifest.empty(), "--root", "--root and --manifest go together");
  require(!c.output.empty(), "--output", "must not be empty");
  require(c.target.find('/') == std::string::npos && c.target != "." && c.target != "..", "--target",
          "must be a plain name, not '" + c.target + "'");
  check_range("--sample-rate", std::int64_t{c.sample_rate}, kMinSampleRate, kMaxSampleRate);
  require(c.epochs >= 1, "--epochs", "must be at least 1");
  // Upper bounds keep every product of sizes (batch x excerpt x channels, excerpts per epoch) far from
  // overflowing and an allocation from asking for more than any machine has.
  check_range("--batch-size", std::int64_t{c.batch_size}, 1, 1 << 16);
  require(c.seq_dur > 0, "--seq-dur", "must be positive");
  check_range("--seq-dur", c.seq_dur, 1e-3, 3600.0);
  check_range("--samples-per-track", std::int64_t{c.samples_per_track}, 1, 1 << 20);
  const auto probability = [&](double p, const char* flag) { require(p >= 0 && p <= 1, flag, "must be in [0, 1]"); };
  probability(c.mono_probability, "--mono-probability");
  probability(c.tilt_probability, "--tilt-probability");
  require(c.tilt_db_per_octave_max >= 0 && c.tilt_db_per_octave_max <= data::kMaxTiltDbPerOctave,
          "--tilt-db-per-octave-max", "must be in [0, 6]");
  probability(c.resample_probability, "--resample-probability");
  data::parse_rates(c.resample_rates, "--resample-rates");
  probability(c.codec_probability, "--codec-probability");
  data::parse_codecs(c.codecs, "--codecs");
  require(c.codec_kbps_min >= data::kMinCodecKbps && c.codec_kbps_min <= data::kMaxCodecKbps, "--codec-kbps-min",
          "must be in [" + std::to_string(data::kMinCodecKbps) + ", " + std::to_string(data::kMaxCodecKbps) + "]");
  require(c.codec_kbps_max >= c.codec_kbps_min && c.codec_kbps_max <= data::kMaxCodecKbps, "--codec-kbps-max",
          "must be at least --codec-kbps-min (" + std::to_string(c.codec_kbps_min) + ") and at most " +
              std::to_string(data::kMaxCodecKbps));
  require(c.lr > 0, "--lr", "must be positive");
  require(c.weight_decay >= 0, "--weight-decay", "must not be negative");
  require(c.lr_decay_patience >= 0, "--lr-decay-patience", "must not be negative");
  require(c.lr_decay_gamma > 0 && c.lr_decay_gamma < 1, "--lr-decay-gamma", "must be in (0, 1)");
  require(c.lr_decay_cooldown >= 0, "--lr-decay-cooldown", "must not be negative");
  require(c.patience >= 0, "--patience", "must not be negative");
  require(c.hidden_size >= 2 && c.hidden_size % 2 == 0, "--hidden-size", "must be an even number >= 2");
  check_range("--hidden-size", std::int64_t{c.hidden_size}, 2, kMaxHiddenSize);
  require(c.nb_channels == 1 || c.nb_channels == 2, "--nb-channels", "must be 1 or 2");
  require(c.bandwidth > 0, "--bandwidth", "must be positive");
  require(c.nfft >= 16 && c.nhop >= 1 && c.nhop <= c.nfft, "--nfft", "needs nfft >= 16 and 1 <= nhop <= nfft");
  check_range("--nfft", std::int64_t{c.nfft}, 16, kMaxFftSize);
  require(c.device == "auto" || c.device == "cpu" || c.device == "cuda", "--device",
          "must be auto, cpu or cuda, not '" + c.device + "'");
  check_threads("--workers", c.nb_workers, false);
  require(c.valid_chunk_dur >= 0, "--valid-chunk-dur", "must not be negative");
  check_range("--valid-chunk-dur", c.valid_chunk_dur, 0.0, 24 * 3600.0);
  require(c.progress_seconds > 0, "--progress-seconds", "must be positive");
  check_range("--bandwidth", c.bandwidth, 1e-3, 1e7);
}

}  // namespace unmix::train
