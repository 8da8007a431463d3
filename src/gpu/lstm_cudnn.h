#pragma once
// One bidirectional LSTM layer through cuDNN 9's RNN API. The three UMX layers are separate cuDNN RNNs so
// our own dropout kernel sits between them (its masks are reproducible and checkable against the CPU
// reference, which cuDNN's internal dropout is not).
#include <cudnn.h>

#include <cstdint>
#include <vector>

#include "unmix/gpu/buffer.h"
#include "unmix/gpu/kernels.h"
#include "unmix/param_table.h"

namespace unmix::gpu {

enum class LstmAlgorithm { Standard, PersistStatic, PersistDynamic };

class CudnnLstmLayer {
 public:
  CudnnLstmLayer(cudnnHandle_t handle, int layer, int input_size, int hidden, bool tf32, LstmAlgorithm algorithm);
  ~CudnnLstmLayer();
  CudnnLstmLayer(const CudnnLstmLayer&) = delete;
  CudnnLstmLayer& operator=(const CudnnLstmLayer&) = delete;

  // Segments copying this layer's openunmix tensors from the flat buffer into the weight space (element
  // offsets); swap src/dst for the way back.
  std::vector<CopySegment> weight_segments(const ParamTable& table) const;
  float* weights() { return weights_.data(); }
  float* weight_grads() { return weight_grads_.data(); }
  std::size_t weight_count() const { return weights_.size(); }

  // Data descriptors and workspace sizes for a (frames, batch) shape; no allocation when it repeats.
  void set_shape(int frames, int batch, const std::int32_t* device_seq_lengths);
  std::size_t workspace_bytes() const { return workspace_bytes_; }

  // x: [T, B, input] (our [input, N] column-major), y: [T, B, 2H].
  void forward(bool training, const float* x, float* y, void* workspace);
  // dx overwritten; must follow a training forward; then backward_weights (adds into weight_grads()).
  void backward_data(const float* y, const float* dy, float* dx, void* workspace);
  void backward_weights(const float* x, const float* y, void* workspace);

 private:
  cudnnHandle_t handle_;
  int layer_, input_size_, hidden_;
  LstmAlgorithm algorithm_;
  cudnnRNNDescriptor_t rnn_ = nullptr;
  cudnnDropoutDescriptor_t dropout_ = nullptr;
  cudnnRNNDataDescriptor_t x_desc_ = nullptr, y_desc_ = nullptr;
  cudnnTensorDescriptor_t h_desc_ = nullptr;
  DeviceBuffer<float> weights_, weight_grads_;
  DeviceBuffer<unsigned char> reserve_;
  std::size_t workspace_bytes_ = 0;
  int frames_ = 0, batch_ = 0;
  const std::int32_t* device_seq_lengths_ = nullptr;
};

}  // namespace unmix::gpu
