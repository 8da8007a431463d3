#pragma once
// GPU tests skip with the reason when this process cannot use a CUDA device.
#include <gtest/gtest.h>

#include "unmix/gpu/buffer.h"
#include "unmix/gpu/device.h"

#define UNMIX_REQUIRE_GPU()                                                          \
  do {                                                                               \
    const auto unmix_report = ::unmix::gpu::query_devices();                         \
    if (!unmix_report.available()) GTEST_SKIP() << "no GPU: " << unmix_report.reason; \
  } while (0)

namespace unmix::test {

template <typename T>
gpu::DeviceBuffer<T> to_device(const std::vector<T>& host) {
  gpu::DeviceBuffer<T> d;
  d.upload(host);
  return d;
}

// A poisoned (NaN-filled) device buffer of n values: any element a kernel fails to write stays NaN and
// makes the comparison fail.
template <typename T>
gpu::DeviceBuffer<T> poisoned(std::size_t n) {
  gpu::DeviceBuffer<T> d(n);
  d.poison();
  return d;
}

}  // namespace unmix::test
