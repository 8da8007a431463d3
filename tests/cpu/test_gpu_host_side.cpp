// The GPU engine's host-side rules, held without a GPU: every host copy names its stream, the cuDNN RNN
// descriptor uses a documented layout and real TF32, a separation model keeps no training buffers, and
// --device resolves the same way everywhere.
#include <gtest/gtest.h>

#include <cstdlib>

#include "../../src/gpu/lstm_cudnn.h"
#include "../../src/separate/device_choice.h"
#include "unmix/error.h"
#include "unmix/gpu/buffer.h"
#include "unmix/gpu/device.h"
#include "unmix/gpu/umx_workspace.h"

namespace {

using namespace unmix;
using gpu::DeviceBuffer;

// A host read or write on a defaulted (legacy) stream is not ordered with a model's non-blocking stream and
// can read a buffer before the model wrote it; so none of these may compile without a stream.
template <typename B>
concept CopiesWithoutStream = requires(B& b, const std::vector<float>& host) {
  b.download();
} || requires(B& b, const std::vector<float>& host) { b.upload(host); } || requires(B& b) { b.zero(); } ||
                              requires(B& b) { b.poison(); };
template <typename B>
concept CopiesWithStream = requires(B& b, const std::vector<float>& host, cudaStream_t s) {
  b.download(s);
  b.upload(host, s);
  b.zero(s);
  b.poison(s);
};
static_assert(!CopiesWithoutStream<DeviceBuffer<float>>, "DeviceBuffer copies and fills must name their stream");
static_assert(CopiesWithStream<DeviceBuffer<float>>);

TEST(GpuHostSide, EmptyBuffersNeedNoDevice) {
  // Nothing to copy or fill: no CUDA call, so this also holds on a machine without a GPU.
  DeviceBuffer<float> empty;
  EXPECT_NO_THROW(empty.zero(nullptr));
  EXPECT_NO_THROW(empty.poison(nullptr));
  EXPECT_EQ(empty.size(), 0u);
  EXPECT_EQ(empty.data(), nullptr);
}

TEST(GpuHostSide, LstmDescriptorUsesTheDocumentedLayout) {
  // cuDNN documents the unpacked layouts for padded I/O only; without padding the layout must be packed.
  EXPECT_EQ(gpu::kLstmAuxFlags & CUDNN_RNN_PADDED_IO_ENABLED, 0u);
  EXPECT_EQ(gpu::kLstmDataLayout, CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_PACKED);
}

TEST(GpuHostSide, Tf32IsTf32) {
  // Off: exact float32 products in both libraries. On: TF32, never cuDNN's FP16 down-conversion.
  EXPECT_EQ(gpu::cudnn_math(false), CUDNN_FMA_MATH);
  EXPECT_EQ(gpu::cublas_math(false), CUBLAS_DEFAULT_MATH);
  EXPECT_EQ(gpu::cudnn_math(true), CUDNN_DEFAULT_MATH);
  EXPECT_EQ(gpu::cublas_math(true), CUBLAS_TF32_TENSOR_OP_MATH);
  EXPECT_NE(gpu::cudnn_math(true), CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION);
}

TEST(GpuHostSide, InferenceWorkspaceHasNoTrainingBuffers) {
  const ModelConfig config;  // openunmix's default size: hidden 512, 2049 bins, stereo
  // A 10-minute song at 44.1 kHz in one piece (--wiener-win-len 0): 25,840 frames.
  const int frames = 600 * 44100 / 1024 + 1;
  const auto infer = gpu::plan_workspace(config, frames, 1, gpu::Purpose::Inference);
  const auto train = gpu::plan_workspace(config, frames, 1, gpu::Purpose::Training);
  EXPECT_EQ(infer.tanh_out + infer.relu_out + infer.bn3_out, 0u);
  EXPECT_EQ(infer.lstm_in_buffers, 0);
  EXPECT_EQ(infer.lstm_out_buffers, 2);
  EXPECT_EQ(infer.d_output_features + infer.d_hidden + infer.d_x_in + infer.reduction_partials, 0u);
  EXPECT_EQ(train.lstm_out_buffers, config.nb_layers);
  EXPECT_GT(train.d_output_features, 0u);
  const double gib = 1024.0 * 1024 * 1024;
  std::printf("  activations for a 10-minute song in one piece: inference %.2f GiB, training %.2f GiB\n",
              static_cast<double>(infer.bytes()) / gib, static_cast<double>(train.bytes()) / gib);
  // What an 8 GB card must hold besides cuDNN's workspace and the model's 36 MB of weights.
  EXPECT_LT(static_cast<double>(infer.bytes()), 1.5 * gib);
  EXPECT_LT(2.5 * static_cast<double>(infer.bytes()), static_cast<double>(train.bytes()));
  // The separator's chunks (3 Wiener windows of 300 frames + 2 x 128 context frames) need far less.
  const auto chunk = gpu::plan_workspace(config, 3 * 300 + 2 * 128, 1, gpu::Purpose::Inference);
  EXPECT_LT(static_cast<double>(chunk.bytes()), 0.1 * gib);
}

TEST(GpuHostSide, DeviceChoiceFollowsTheMachine) {
  EXPECT_FALSE(choose_device(Device::Cpu).gpu_model);
  EXPECT_FALSE(choose_device(Device::Cpu).gpu_wiener);
  const bool gpu_here = gpu::query_devices().available();
  const DeviceChoice automatic = choose_device(Device::Auto);
  EXPECT_EQ(automatic.gpu_model, gpu_here);  // auto: the GPU whenever there is one, model and filter together
  EXPECT_EQ(automatic.gpu_wiener, gpu_here);
  if (gpu_here) {
    EXPECT_TRUE(choose_device(Device::Cuda).gpu_model);
  } else {
    try {
      choose_device(Device::Cuda);
      ADD_FAILURE() << "--device cuda without a GPU must fail";
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).rfind("--device cuda: ", 0), 0u) << e.what();
    }
  }
}

}  // namespace
