// The GPU engine's model behind the separator's model interface: UmxGpu in inference mode (no gradient,
// Adam or backward buffers), fed from and read back to host memory on the model's own stream.
#include <cuda_runtime_api.h>

#include "unmix/gpu/buffer.h"
#include "unmix/gpu/umx_gpu.h"
#include "unmix/separator.h"

namespace unmix {

namespace {

class GpuModel final : public SpectrogramModel {
 public:
  GpuModel(const UmxWeights& weights, int device) : device_(device) {
    UNMIX_CUDA(cudaSetDevice(device));
    gpu::GpuOptions options;
    options.purpose = gpu::Purpose::Inference;
    model_ = std::make_unique<gpu::UmxGpu>(weights.config, options);
    model_->upload(weights);
  }
  const ModelConfig& config() const override { return model_->config(); }
  void forward(const float* mix, int frames, int batch, float* out) override {
    UNMIX_CUDA(cudaSetDevice(device_));
    const std::size_t count =
        static_cast<std::size_t>(frames) * batch * model_->config().nb_channels * model_->config().nb_bins;
    const cudaStream_t stream = model_->stream();
    mix_.reserve(count);
    out_.reserve(count);
    UNMIX_CUDA(cudaMemcpyAsync(mix_.data(), mix, count * sizeof(float), cudaMemcpyHostToDevice, stream));
    model_->forward(mix_.data(), frames, batch, Mode::Eval, out_.data());
    UNMIX_CUDA(cudaMemcpyAsync(out, out_.data(), count * sizeof(float), cudaMemcpyDeviceToHost, stream));
    UNMIX_CUDA(cudaStreamSynchronize(stream));
  }
  std::string device_name() const override { return "cuda:" + std::to_string(device_); }

 private:
  int device_;
  std::unique_ptr<gpu::UmxGpu> model_;
  gpu::DeviceBuffer<float> mix_, out_;  // grow to the longest chunk, then reused
};

}  // namespace

std::unique_ptr<SpectrogramModel> make_gpu_model(const UmxWeights& weights, int device) {
  return std::make_unique<GpuModel>(weights, device);
}

}  // namespace unmix
