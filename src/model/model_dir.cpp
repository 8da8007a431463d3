#include "unmix/model_dir.h"

#include <algorithm>
#include <cmath>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <system_error>

#include "unmix/error.h"
#include "unmix/limits.h"
#include "unmix/safetensors.h"

namespace unmix {
namespace {

using json = nlohmann::json;
namespace st = safetensors;

// Training summaries hold a few loss histories; anything this large is not a model json.
constexpr std::uintmax_t kMaxJsonBytes = 64u * 1024u * 1024u;

void check_target(const std::string& target) {
  if (target.empty() || target.find('/') != std::string::npos || target == "." || target == "..")
    fail("model dir", "invalid target name '" + target + "'");
}

json read_json(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) fail(path, "no such file (or not a regular file)");
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) fail(path, "cannot determine the file size: " + ec.message());
  if (size > kMaxJsonBytes) fail(path, "file too large for a model json (" + std::to_string(size) + " bytes)");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open for reading");
  try {
    return json::parse(in);
  } catch (const json::exception& e) {
    fail(path, std::string("not valid JSON: ") + e.what());
  }
}

// Field lookups with errors that name the file and the dotted field path.
const json* find_field(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  const auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

int get_int(const std::filesystem::path& file, const json& obj, const char* prefix, const char* key,
            const int* fallback = nullptr) {
  const json* v = find_field(obj, key);
  const std::string field = std::string(prefix) + key;
  if (!v) {
    if (fallback) return *fallback;
    fail(file, "missing field '" + field + "'");
  }
  if (!v->is_number_integer()) fail(file, "field '" + field + "' must be an integer");
  const auto x = v->get<std::int64_t>();
  if (x < std::numeric_limits<int>::min() || x > std::numeric_limits<int>::max())
    fail(file, "field '" + field + "' out of range");
  return static_cast<int>(x);
}

bool get_number(const std::filesystem::path& file, const json& obj, const char* prefix, const char* key,
                double& out) {
  const json* v = find_field(obj, key);
  if (!v) return false;
  if (!v->is_number() || !std::isfinite(v->get<double>()))
    fail(file, "field '" + std::string(prefix) + key + "' must be a finite number");
  out = v->get<double>();
  return true;
}

// Integral values are written as JSON integers, as openunmix's argparse would have them.
json number(double x) {
  if (std::nearbyint(x) == x && std::abs(x) < 1e15) return static_cast<std::int64_t>(x);
  return x;
}

// Tensor names come from the file; keep messages on one printable line.
std::string printable(const std::string& s) {
  std::string out;
  for (char ch : s.substr(0, 120)) out.push_back(static_cast<unsigned char>(ch) >= 0x20 && ch != 0x7f ? ch : '?');
  return s.size() > 120 ? out + "..." : out;
}

std::string bn_counter_name(std::size_t i) { return std::string(kBatchNormNames[i]) + ".num_batches_tracked"; }

void write_json(const std::filesystem::path& path, const json& j) {
  AtomicFile file(path);
  {
    std::ofstream out(file.temp_path(), std::ios::binary | std::ios::trunc);
    if (!out) fail(path, "cannot open temporary file " + file.temp_path().string() + " for writing");
    out << j.dump(4) << '\n';
    out.close();
    if (!out) fail(path, std::string("write error: ") + std::strerror(errno));
  }
  file.commit();
}

}  // namespace

std::filesystem::path model_json_path(const std::filesystem::path& dir, const std::string& target) {
  check_target(target);
  return dir / (target + ".json");
}

std::filesystem::path model_weights_path(const std::filesystem::path& dir, const std::string& target) {
  check_target(target);
  return dir / (target + ".safetensors");
}

UmxWeights load_model(const std::filesystem::path& dir, const std::string& target) {
  const auto json_path = model_json_path(dir, target);
  const auto weights_path = model_weights_path(dir, target);

  const json summary = read_json(json_path);
  if (!summary.is_object()) fail(json_path, "top level is not a JSON object");
  const json* args = find_field(summary, "args");
  if (!args || !args->is_object()) fail(json_path, "missing object 'args'");

  ModelConfig c;
  c.nfft = get_int(json_path, *args, "args.", "nfft");
  c.nhop = get_int(json_path, *args, "args.", "nhop");
  c.hidden_size = get_int(json_path, *args, "args.", "hidden_size");
  c.nb_channels = get_int(json_path, *args, "args.", "nb_channels");
  const int default_layers = 3;  // openunmix.model.OpenUnmix's default; load_target_models never overrides it
  c.nb_layers = get_int(json_path, *args, "args.", "nb_layers", &default_layers);
  get_number(json_path, *args, "args.", "bandwidth", c.bandwidth);
  if (const json* uni = find_field(*args, "unidirectional"); uni && uni->is_boolean() && uni->get<bool>())
    fail(json_path, "unidirectional models are not supported");
  // Sanity bounds ahead of validate(): a hostile json must not make us build an enormous table.
  if (c.nfft < 2 || c.nfft > (1 << 20)) fail(json_path, "field 'args.nfft' out of range");
  if (c.hidden_size > (1 << 16)) fail(json_path, "field 'args.hidden_size' out of range");
  if (c.nb_layers > 64) fail(json_path, "field 'args.nb_layers' out of range");
  c.nb_bins = c.nfft / 2 + 1;
  // openunmix's train.py keeps the sample rate in separator.json, not in args.
  if (!get_number(json_path, *args, "args.", "sample_rate", c.sample_rate)) {
    const auto sep_path = dir / "separator.json";
    std::error_code ec;
    if (std::filesystem::exists(sep_path, ec)) {
      const json sep = read_json(sep_path);
      get_number(sep_path, sep, "", "sample_rate", c.sample_rate);
    }
  }

  // Checked here, as a double: the separator converts it to int, which 1e12 would overflow.
  check_range(json_path.string() + ": field 'sample_rate'", c.sample_rate, double{kMinSampleRate}, double{kMaxSampleRate});

  const st::File file = st::read(weights_path);
  const st::Tensor* mean = file.find("input_mean");
  if (!mean) fail(weights_path, "missing tensor 'input_mean'");
  if (mean->shape.size() != 1) fail(weights_path, "tensor 'input_mean' has shape " + st::shape_string(mean->shape) + ", expected 1-D");
  if (mean->shape[0] < 1 || mean->shape[0] > c.nb_bins)
    fail(weights_path, "tensor 'input_mean' has " + std::to_string(mean->shape[0]) + " entries, expected 1.." +
                           std::to_string(c.nb_bins) + " (nfft " + std::to_string(c.nfft) + " in " +
                           json_path.filename().string() + ")");
  c.max_bin = static_cast<int>(mean->shape[0]);
  try {
    c.validate();
  } catch (const Error& e) {
    fail(json_path, e.what());
  }

  // Check every tensor before allocating, so the allocation is bounded by what the file really holds.
  const ParamTable table = ParamTable::for_umx(c);
  std::set<std::string> expected;
  for (const auto& entry : table.entries()) {
    expected.insert(entry.name);
    const st::Tensor* t = file.find(entry.name);
    if (!t) fail(weights_path, "missing tensor '" + entry.name + "'");
    if (t->dtype != st::DType::F32 && t->dtype != st::DType::F16)
      fail(weights_path, "tensor '" + entry.name + "' has dtype " + std::string(st::dtype_name(t->dtype)) +
                             ", expected F32 or F16");
    if (t->shape != entry.shape)
      fail(weights_path, "tensor '" + entry.name + "' has shape " + st::shape_string(t->shape) + ", expected " +
                             st::shape_string(entry.shape));
  }
  std::int64_t counters[3] = {0, 0, 0};  // absent in some exports; PyTorch's default is 0
  for (std::size_t i = 0; i < 3; ++i) {
    const std::string name = bn_counter_name(i);
    expected.insert(name);
    const st::Tensor* t = file.find(name);
    if (!t) continue;
    if (t->dtype != st::DType::I64)
      fail(weights_path, "tensor '" + name + "' has dtype " + std::string(st::dtype_name(t->dtype)) + ", expected I64");
    if (!t->shape.empty())
      fail(weights_path, "tensor '" + name + "' has shape " + st::shape_string(t->shape) + ", expected [] (scalar)");
    counters[i] = st::as_i64(*t)[0];
  }
  for (const auto& t : file.tensors) {
    if (!expected.count(t.name))
      fail(weights_path, "unexpected tensor '" + printable(t.name) + "' (not part of an Open-Unmix model with " +
                             c.describe() + ")");
  }

  st::verify_checksum(file, weights_path.string());  // after the layout checks, which say more

  UmxWeights w(c);
  for (const auto& entry : w.table.entries()) {
    const std::vector<float> values = st::as_float(*file.find(entry.name));
    // A NaN weight separates to silence or noise without any error; such a model is damaged.
    const auto bad = std::find_if(values.begin(), values.end(), [](float v) { return !std::isfinite(v); });
    if (bad != values.end())
      fail(weights_path, "tensor '" + entry.name + "' holds a non-finite value (NaN or infinity) at index " +
                             std::to_string(bad - values.begin()) + ": the model is damaged; retrain or export it again");
    std::copy(values.begin(), values.end(), w.values.begin() + static_cast<std::ptrdiff_t>(entry.offset));
  }
  std::copy(std::begin(counters), std::end(counters), std::begin(w.num_batches_tracked));
  return w;
}

void save_model(const std::filesystem::path& dir, const std::string& target, const UmxWeights& weights,
                const std::string& extra_json, WeightStorage storage) {
  const auto json_path = model_json_path(dir, target);
  const auto weights_path = model_weights_path(dir, target);
  const ModelConfig& c = weights.config;
  if (weights.values.size() != weights.table.total_size())
    fail(weights_path, "weight buffer has " + std::to_string(weights.values.size()) + " values, table needs " +
                           std::to_string(weights.table.total_size()));

  json summary = json::object();
  if (!extra_json.empty()) {
    try {
      summary = json::parse(extra_json);
    } catch (const json::exception& e) {
      fail(json_path, std::string("extra json is not valid JSON: ") + e.what());
    }
    if (!summary.is_object()) fail(json_path, "extra json is not an object");
  }
  json& args = summary["args"];
  if (!args.is_object()) args = json::object();
  args["nfft"] = c.nfft;
  args["nhop"] = c.nhop;
  args["hidden_size"] = c.hidden_size;
  args["nb_channels"] = c.nb_channels;
  args["nb_layers"] = c.nb_layers;
  args["sample_rate"] = number(c.sample_rate);
  args["bandwidth"] = number(c.bandwidth);
  args["unidirectional"] = false;
  args["target"] = target;

  std::vector<st::Tensor> tensors;
  for (const auto& entry : weights.table.entries()) {
    const auto values = weights[entry.name];
    tensors.push_back(storage == WeightStorage::F16 && st::fits_f16(values) ? st::make_f16(entry.name, entry.shape, values)
                                                                            : st::make_f32(entry.name, entry.shape, values));
  }
  for (std::size_t i = 0; i < 3; ++i)
    tensors.push_back(st::make_i64(bn_counter_name(i), {}, std::span(&weights.num_batches_tracked[i], 1)));

  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) fail(dir, "cannot create model directory: " + ec.message());
  // Weights first: a json without its weights would look like a loadable model.
  st::write(weights_path, tensors, {{"format", "pt"}, {"target", target}, {std::string(st::kChecksumKey), st::checksum(tensors)}});
  write_json(json_path, summary);
  write_json(dir / "separator.json", {{"nfft", c.nfft},
                                       {"nhop", c.nhop},
                                       {"nb_channels", c.nb_channels},
                                       {"sample_rate", number(c.sample_rate)}});
}

}  // namespace unmix
