#include <gtest/gtest.h>

#include <cstdio>

#include "gpu_test_support.h"
#include "unmix/gpu/device.h"

// Proves the CUDA translation unit links and runs; on a machine without a GPU it must report why.
TEST(GpuDevice, ReportsDevicesOrReason) {
  const auto report = unmix::gpu::query_devices();
  std::printf("GPU report: %s\n", report.summary().c_str());  // scripts/gpu-check.sh quotes this line
  EXPECT_GE(report.cudnn_version, 90000) << "cuDNN 9 expected";
  EXPECT_FALSE(report.cudnn_library.empty());
  if (!report.available()) {
    EXPECT_FALSE(report.reason.empty());
    if (unmix::test::gpu_tests_must_run()) FAIL() << "no GPU on a GPU machine: " << report.reason;
    GTEST_SKIP() << "no GPU: " << report.reason;
  }
  EXPECT_TRUE(report.reason.empty());
  for (const auto& d : report.devices) {
    EXPECT_FALSE(d.name.empty());
    EXPECT_GT(d.memory_bytes, 0u);
    EXPECT_GE(d.major, 7);
  }
}
