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

// ||a - b|| / ||b|| computed in double over any two indexable ranges (vector, span, ...);
// +inf when sizes differ or values are non-finite.
template <typename RangeA, typename RangeB>
double rel_error(const RangeA& a, const RangeB& b) {
  if (std::size(a) != std::size(b)) return INFINITY;
  double num = 0, den = 0;
  for (std::size_t i = 0; i < std::size(a); ++i) {
    const double d = static_cast<double>(a[i]) - static_cast<double>(b[i]);
    num += d * d;
    den += static_cast<double>(b[i]) * static_cast<double>(b[i]);
  }
  if (!std::isfinite(num) || !std::isfinite(den)) return INFINITY;
  if (den == 0) return num == 0 ? 0.0 : INFINITY;
  return std::sqrt(num / den);
}

}  // namespace unmix::test
