// Separation on the GPU (UmxGpu for inference + the GPU Wiener filter) against the CPU separation, on a
// default-size model with trained-looking statistics and a song long enough to be chunked. Bound: 1e-4
// relative per source (float32 on both sides; the CPU Wiener filter works in double).
#include <gtest/gtest.h>

#include <cstdio>

#include "gpu_test_support.h"
#include "song_like.h"
#include "test_support.h"
#include "unmix/model_dir.h"
#include "unmix/separator.h"

namespace {

using namespace unmix;
namespace fs = std::filesystem;

TEST(GpuSeparateDefaultSize, MatchesCpuSeparationOnALongSong) {
  UNMIX_REQUIRE_GPU();
  const ModelConfig config;
  // 70 s: 3015 frames, more than the 2312 done whole, so four chunks of up to three Wiener windows
  const Audio song = test::song_like_audio(70.0, 44100, 2, 31);
  const UmxWeights weights = test::trained_looking_weights(config, song, 32);
  const fs::path dir = test::temp_dir("gpu-separate");
  save_model(dir, "guitar", weights);

  auto separate = [&](Device device) {
    SeparatorOptions options;
    options.device = device;
    Separator separator = Separator::load(dir, {}, options);
    int chunks = 0;
    auto sources = separator.separate(song, [&](double) { return ++chunks > 0; });
    std::printf("  %-4s %s, %d chunks\n", device == Device::Cpu ? "cpu:" : "gpu:", separator.describe().c_str(), chunks);
    EXPECT_EQ(chunks, 4);
    return std::pair{separator.describe(), std::move(sources)};
  };
  const auto [cpu_where, cpu] = separate(Device::Cpu);
  const auto [gpu_where, gpu] = separate(Device::Auto);  // auto takes the GPU when there is one
  EXPECT_EQ(gpu_where, "model on cuda:0, Wiener filter on cuda:0");
  ASSERT_EQ(gpu.size(), cpu.size());
  for (std::size_t j = 0; j < cpu.size(); ++j) {
    ASSERT_EQ(gpu[j].frames, cpu[j].frames);
    ASSERT_EQ(gpu[j].channels, cpu[j].channels);
    const double err = test::rel_error(gpu[j].samples, cpu[j].samples);
    std::printf("  source %zu: GPU vs CPU separation relative error %.2e\n", j, err);
    EXPECT_LT(err, 1e-4);
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
