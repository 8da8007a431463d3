#include "unmix/param_table.h"

#include <cmath>
#include <random>

#include "unmix/error.h"

namespace unmix {

std::size_t ParamEntry::numel() const {
  std::size_t n = 1;
  for (auto d : shape) n *= static_cast<std::size_t>(d);
  return n;
}

void ParamTable::add(std::string name, std::vector<std::int64_t> shape, bool trainable) {
  ParamEntry e{std::move(name), total_, std::move(shape), trainable};
  if (trainable && trainable_ != total_) fail("param table", "trainable tensor '" + e.name + "' after a buffer");
  total_ += e.numel();
  if (trainable) trainable_ = total_;
  entries_.push_back(std::move(e));
}

ParamTable ParamTable::for_umx(const ModelConfig& c) {
  c.validate();
  ParamTable t;
  const std::int64_t H = c.hidden_size, Hl = c.lstm_hidden();
  const std::int64_t in_features = c.input_features(), out_features = c.output_features();
  t.add("input_mean", {c.max_bin}, true);
  t.add("input_scale", {c.max_bin}, true);
  t.add("output_scale", {c.nb_bins}, true);
  t.add("output_mean", {c.nb_bins}, true);
  t.add("fc1.weight", {H, in_features}, true);
  t.add("bn1.weight", {H}, true);
  t.add("bn1.bias", {H}, true);
  for (int layer = 0; layer < c.nb_layers; ++layer) {
    const std::int64_t layer_in = layer == 0 ? H : 2 * Hl;
    for (const char* suffix : {"", "_reverse"}) {
      const std::string l = "_l" + std::to_string(layer) + suffix;
      t.add("lstm.weight_ih" + l, {4 * Hl, layer_in}, true);
      t.add("lstm.weight_hh" + l, {4 * Hl, Hl}, true);
      t.add("lstm.bias_ih" + l, {4 * Hl}, true);
      t.add("lstm.bias_hh" + l, {4 * Hl}, true);
    }
  }
  t.add("fc2.weight", {H, 2 * H}, true);
  t.add("bn2.weight", {H}, true);
  t.add("bn2.bias", {H}, true);
  t.add("fc3.weight", {out_features, H}, true);
  t.add("bn3.weight", {out_features}, true);
  t.add("bn3.bias", {out_features}, true);
  for (std::string bn : {"bn1", "bn2", "bn3"}) {
    const std::int64_t n = bn == "bn3" ? out_features : H;
    t.add(bn + ".running_mean", {n}, false);
    t.add(bn + ".running_var", {n}, false);
  }
  return t;
}

const ParamEntry* ParamTable::find(std::string_view name) const {
  for (const auto& e : entries_)
    if (e.name == name) return &e;
  return nullptr;
}

const ParamEntry& ParamTable::at(std::string_view name) const {
  const auto* e = find(name);
  if (!e) fail("param table", "no tensor named '" + std::string(name) + "'");
  return *e;
}

UmxWeights::UmxWeights(const ModelConfig& cfg)
    : config(cfg), table(ParamTable::for_umx(cfg)), values(table.total_size(), 0.f) {
  for (std::string_view ones : {"input_scale", "output_scale", "output_mean", "bn1.weight", "bn2.weight",
                                "bn3.weight", "bn1.running_var", "bn2.running_var", "bn3.running_var"}) {
    for (auto& v : (*this)[ones]) v = 1.f;
  }
}

std::span<float> UmxWeights::operator[](std::string_view name) {
  const auto& e = table.at(name);
  return {values.data() + e.offset, e.numel()};
}

std::span<const float> UmxWeights::operator[](std::string_view name) const {
  const auto& e = table.at(name);
  return {values.data() + e.offset, e.numel()};
}

namespace {
std::uint64_t fnv1a64(std::string_view s) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char ch : s) {
    h ^= ch;
    h *= 0x100000001b3ull;
  }
  return h;
}
std::uint64_t splitmix64(std::uint64_t x) {
  std::uint64_t z = x + 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
}  // namespace

double hash_uniform(std::string_view name, std::uint64_t seed, std::uint64_t index) {
  return static_cast<double>(splitmix64((fnv1a64(name) ^ seed) + index) >> 11) * 0x1.0p-53;
}

void UmxWeights::init_random(std::uint64_t seed) {
  for (const auto& e : table.entries()) {
    const bool is_linear = e.name.starts_with("fc") && e.name.ends_with(".weight");
    const bool is_lstm = e.name.starts_with("lstm.");
    if (!is_linear && !is_lstm) continue;
    // torch.nn.Linear: kaiming_uniform(a=sqrt(5)) == U(-1/sqrt(fan_in), 1/sqrt(fan_in));
    // torch.nn.LSTM: U(-1/sqrt(hidden), 1/sqrt(hidden)) for every tensor.
    const double fan = is_lstm ? config.lstm_hidden() : static_cast<double>(e.shape[1]);
    const double bound = 1.0 / std::sqrt(fan);
    auto values_of = (*this)[e.name];
    for (std::size_t i = 0; i < values_of.size(); ++i)
      values_of[i] = static_cast<float>(-bound + 2.0 * bound * hash_uniform(e.name, seed, i));
  }
}

void UmxWeights::init_synthetic(std::uint64_t seed) {
  for (const auto& e : table.entries()) {
    double lo = 0, hi = 0;
    const std::string& n = e.name;
    if (n.starts_with("lstm.")) {
      lo = -1.0 / std::sqrt(static_cast<double>(config.lstm_hidden()));
      hi = -lo;
    } else if (n.starts_with("fc")) {
      lo = -1.0 / std::sqrt(static_cast<double>(e.shape[1]));
      hi = -lo;
    } else if (n.ends_with(".running_var") || n == "input_scale" || n == "output_scale") {
      lo = 0.5, hi = 1.5;
    } else if (n.ends_with(".weight")) {  // BatchNorm gamma
      lo = 0.8, hi = 1.2;
    } else if (n.ends_with(".bias") || n.ends_with(".running_mean")) {
      lo = -0.2, hi = 0.2;
    } else if (n == "input_mean") {  // openunmix stores minus the data mean
      lo = -1.0, hi = 0.0;
    } else if (n == "output_mean") {
      lo = 0.5, hi = 1.5;
    } else {
      fail("init_synthetic", "no range for tensor '" + n + "'");
    }
    auto values_of = (*this)[n];
    for (std::size_t i = 0; i < values_of.size(); ++i)
      values_of[i] = static_cast<float>(lo + (hi - lo) * hash_uniform(n, seed, i));
  }
  for (auto& count : num_batches_tracked) count = 0;
}

}  // namespace unmix
