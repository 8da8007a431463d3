#pragma once
// Shared helpers for the test suites: fixture paths, seeded random data, relative errors.
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace unmix::test {

std::filesystem::path fixture(const std::string& name);  // tests/fixtures/<name>
std::filesystem::path temp_dir(const std::string& tag);   // fresh, unique directory under the system temp dir

template <typename T>
std::vector<T> random_vector(std::size_t n, std::uint64_t seed, double lo = -1.0, double hi = 1.0) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(u(rng));
  return v;
}

// ||a - b|| / ||b|| computed in double; +inf when sizes differ or values are non-finite.
template <typename A, typename B>
double rel_error(std::span<const A> a, std::span<const B> b) {
  if (a.size() != b.size()) return INFINITY;
  double num = 0, den = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double d = static_cast<double>(a[i]) - static_cast<double>(b[i]);
    num += d * d;
    den += static_cast<double>(b[i]) * static_cast<double>(b[i]);
  }
  if (!std::isfinite(num) || !std::isfinite(den)) return INFINITY;
  if (den == 0) return num == 0 ? 0.0 : INFINITY;
  return std::sqrt(num / den);
}
template <typename A, typename B>
double rel_error(const std::vector<A>& a, const std::vector<B>& b) {
  return rel_error(std::span<const A>(a), std::span<const B>(b));
}

}  // namespace unmix::test
