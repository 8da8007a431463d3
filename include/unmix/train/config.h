#pragma once
// Settings of a training run, with openunmix's train.py defaults. One table (config_fields) describes every
// setting once: its JSON key (openunmix's argument name), its command-line flag and help, and whether a
// resumed run may change it. The JSON config file, the command line and the checkpoint all go through it.
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace unmix::train {

struct TrainConfig {
  // data
  std::string root;          // MedleyDB-layout audio root: with `manifest`, the cache is (re)built first
  std::string manifest;      // manifest JSON (make_manifests)
  std::string cache;         // training cache (preprocess); required
  std::string target = {};   // name of the output files; empty: the cache's manifest name
  std::string output = "open-unmix";
  int sample_rate = 44100;   // only used when building the cache here
  // schedule
  int epochs = 1000;
  int batch_size = 16;
  double seq_dur = 6.0;
  int samples_per_track = 64;
  // input augmentations (docs/data.md), each a probability per excerpt; 0 (the default) is off
  double mono_probability = 0.0;
  double tilt_probability = 0.0;
  double tilt_db_per_octave_max = 1.0;
  double resample_probability = 0.0;
  std::string resample_rates = "48000";        // intermediate rates, comma-separated
  double codec_probability = 0.0;
  std::string codecs = "mp3,vorbis,opus";      // comma-separated subset
  int codec_kbps_min = 64, codec_kbps_max = 192;
  double lr = 1e-3;
  double weight_decay = 1e-5;
  int lr_decay_patience = 80;
  double lr_decay_gamma = 0.3;
  int lr_decay_cooldown = 10;  // openunmix passes cooldown=10 to ReduceLROnPlateau
  int patience = 140;          // early stopping
  // model
  std::string model;         // a trained model to fine-tune (openunmix's --model): its folder or <target>.json
  int hidden_size = 512;
  int nb_channels = 2;
  double bandwidth = 16000.0;
  int nfft = 4096;
  int nhop = 1024;
  // run
  std::uint64_t seed = 42;
  std::string device = "auto";  // auto | cpu | cuda
  int nb_workers = 4;           // loader threads (openunmix's 0, "load in the main process", has no equivalent)
  double valid_chunk_dur = 300.0;  // seconds per validation chunk; 0: whole tracks in one piece
  double progress_seconds = 30.0;  // within-epoch progress line interval
  bool tf32 = false;               // GPU: TF32 tensor cores in cuBLAS/cuDNN
};

using FieldMember = std::variant<std::string TrainConfig::*, int TrainConfig::*, double TrainConfig::*,
                                 std::uint64_t TrainConfig::*, bool TrainConfig::*>;

struct ConfigField {
  const char* key;    // JSON key, openunmix's argument name ("lr_decay_patience")
  const char* flag;   // command-line flag ("--lr-decay-patience")
  const char* help;
  FieldMember member;
  bool resumable;     // a resumed run may change it without breaking exact continuation
};

std::span<const ConfigField> config_fields();
const ConfigField* find_field(const std::string& key);  // nullptr for an unknown key

// Sets the fields present in a JSON object and returns their keys. Unknown keys, wrong types and non-finite
// numbers throw unmix::Error naming `source` and the key.
std::vector<std::string> merge_config_json(TrainConfig& config, const std::string& json_text, const std::string& source);
// Reads a JSON config file into `config` (fields not in the file keep their values); returns the keys set.
std::vector<std::string> merge_config_file(TrainConfig& config, const std::filesystem::path& file);
// Every field as one JSON object (keys as in config_fields), pretty-printed with `indent` (< 0: one line).
std::string config_to_json(const TrainConfig& config, int indent = -1);
// Throws unmix::Error naming the flag of the first invalid setting.
void validate(const TrainConfig& config);
// The field's value as text, as it would appear in JSON ("0.001", "\"cpu\"", "true").
std::string field_text(const TrainConfig& config, const ConfigField& field);
bool same_value(const TrainConfig& a, const TrainConfig& b, const ConfigField& field);
void copy_field(TrainConfig& to, const TrainConfig& from, const ConfigField& field);

}  // namespace unmix::train
