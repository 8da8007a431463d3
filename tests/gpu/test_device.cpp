#include <gtest/gtest.h>

#include "unmix/gpu/device.h"

// Proves the CUDA translation unit links and runs; on a machine without a GPU it must report why.
TEST(GpuDevice, ReportsDevicesOrReason) {
  const auto report = unmix::gpu::query_devices();
  EXPECT_GE(report.cudnn_version, 90000) << "cuDNN 9 expected";
  if (!report.available()) {
    EXPECT_FALSE(report.reason.empty());
    GTEST_SKIP() << "no GPU: " << report.reason;
  }
  EXPECT_TRUE(report.reason.empty());
  for (const auto& d : report.devices) {
    EXPECT_FALSE(d.name.empty());
    EXPECT_GT(d.memory_bytes, 0u);
    EXPECT_GE(d.major, 7);
  }
}
