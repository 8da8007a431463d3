#pragma once
// Random numbers for the corpus generator. The standard distributions are implementation-defined, so
// the generator and every distribution are written out here: the same seed gives the same song with
// any compiler or standard library.
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <numbers>
#include <span>
#include <vector>

namespace unmix::synth {

constexpr std::uint64_t mix64(std::uint64_t x) {  // splitmix64's finalizer
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

// splitmix64: tiny, fast, passes BigCrush; plenty for musical choices.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(mix64(seed + 0x9e3779b97f4a7c15ULL)) {}

  // An independent stream for a path of identifiers (song, part, purpose, ...), so that adding a
  // choice in one place never shifts the numbers drawn somewhere else.
  static Rng derive(std::uint64_t seed, std::initializer_list<std::uint64_t> path) {
    std::uint64_t h = mix64(seed ^ 0x5851f42d4c957f2dULL);
    for (std::uint64_t p : path) h = mix64(h ^ mix64(p + 0x632be59bd9b4e019ULL));
    return Rng(h);
  }

  std::uint64_t next() {
    state_ += 0x9e3779b97f4a7c15ULL;
    return mix64(state_);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  int integer(int lo, int hi) {  // [lo, hi], inclusive
    const auto span = static_cast<std::uint64_t>(static_cast<std::int64_t>(hi) - lo + 1);
    return lo + static_cast<int>(next() % span);
  }
  bool chance(double p) { return uniform() < p; }
  double normal() {  // Box-Muller
    const double u1 = 1.0 - uniform(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }
  template <typename T>
  const T& pick(std::span<const T> items) {
    return items[static_cast<std::size_t>(next() % items.size())];
  }
  template <typename T>
  const T& pick(const std::vector<T>& items) {
    return pick(std::span<const T>(items));
  }
  // Index drawn with probability proportional to its weight (all weights >= 0, at least one > 0).
  std::size_t weighted(std::span<const double> weights) {
    double total = 0;
    for (double w : weights) total += w;
    double r = uniform() * total;
    for (std::size_t i = 0; i < weights.size(); ++i) {
      if (r < weights[i]) return i;
      r -= weights[i];
    }
    for (std::size_t i = weights.size(); i-- > 0;)
      if (weights[i] > 0) return i;
    return 0;
  }

 private:
  std::uint64_t state_;
};

}  // namespace unmix::synth
