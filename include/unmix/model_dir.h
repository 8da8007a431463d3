#pragma once
// An openunmix-style model directory:
//   <dir>/<target>.json         openunmix's training summary; hyper-parameters under "args"
//                               (nfft, nhop, hidden_size, nb_channels, bandwidth, and here also
//                               sample_rate and nb_layers)
//   <dir>/<target>.safetensors  exactly openunmix's state dict (float32, or float16 for shipped models;
//                               bnX.num_batches_tracked int64 scalars, optional)
//   <dir>/separator.json        {nfft, nhop, nb_channels, sample_rate}, as openunmix.utils.load_separator reads
// scripts/convert_openunmix.py converts between this and openunmix's <target>.pth.
#include <filesystem>
#include <string>

#include "unmix/param_table.h"

namespace unmix {

std::filesystem::path model_json_path(const std::filesystem::path& dir, const std::string& target);
std::filesystem::path model_weights_path(const std::filesystem::path& dir, const std::string& target);

// Loads and validates a model. max_bin comes from the length of input_mean (as openunmix does), not from
// the bandwidth. sample_rate: args.sample_rate, else separator.json's, else 44100. Missing, mistyped,
// misshapen or unexpected tensors throw unmix::Error naming the file and the tensor.
UmxWeights load_model(const std::filesystem::path& dir, const std::string& target);

// How save_model stores the float tensors: F32 (openunmix's own), or F16 where a tensor's values fit (half
// the file; a tensor F16 cannot hold, such as a large input_scale, stays F32). load_model reads both into
// float32.
enum class WeightStorage { F32, F16 };

// Writes <target>.safetensors, <target>.json and separator.json, each atomically; creates `dir`.
// `extra_json`, if not empty, is a JSON object whose fields are added to <target>.json (e.g.
// {"best_loss": 0.01, "epochs_trained": 12}); an "args" object in it is merged into "args", but the
// model's own hyper-parameters always win.
void save_model(const std::filesystem::path& dir, const std::string& target, const UmxWeights& weights,
                const std::string& extra_json = {}, WeightStorage storage = WeightStorage::F32);

}  // namespace unmix
