#pragma once
// GPU tests skip with the reason when this process cannot use a CUDA device, except where the GPU must be
// there: with UNMIX_GPU_TESTS_MUST_RUN=1 (scripts/gpu-check.sh sets it on the GPU machine) a missing device
// fails the test instead, so a broken driver or library setup cannot pass as skipped tests.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string_view>
#include <vector>

#include "unmix/gpu/buffer.h"
#include "unmix/gpu/device.h"

namespace unmix::test {
inline bool gpu_tests_must_run() {
  const char* v = std::getenv("UNMIX_GPU_TESTS_MUST_RUN");
  return v && std::string_view(v) != "" && std::string_view(v) != "0";
}
}  // namespace unmix::test

#define UNMIX_REQUIRE_GPU()                                                                            \
  do {                                                                                                 \
    const auto unmix_report = ::unmix::gpu::query_devices();                                           \
    if (!unmix_report.available()) {                                                                   \
      if (::unmix::test::gpu_tests_must_run()) FAIL() << "no GPU on a GPU machine: " << unmix_report.reason; \
      GTEST_SKIP() << "no GPU: " << unmix_report.reason;                                               \
    }                                                                                                  \
  } while (0)

namespace unmix::test {

// Host data on the device; complete when this returns.
template <typename T>
gpu::DeviceBuffer<T> to_device(const std::vector<T>& host, cudaStream_t stream) {
  gpu::DeviceBuffer<T> d;
  d.upload(host, stream);
  return d;
}

// A poisoned (NaN-filled) device buffer of n values, queued on `stream` (the stream of the work that is to
// write it): any element a kernel fails to write stays NaN and makes the comparison fail.
template <typename T>
gpu::DeviceBuffer<T> poisoned(std::size_t n, cudaStream_t stream) {
  gpu::DeviceBuffer<T> d(n);
  d.poison(stream);
  return d;
}

}  // namespace unmix::test
