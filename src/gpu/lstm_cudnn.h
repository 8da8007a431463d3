#pragma once
// One bidirectional LSTM layer through cuDNN 9's RNN API. The three UMX layers are separate cuDNN RNNs so
// our own dropout kernel sits between them (its masks are reproducible and checkable against the CPU
// reference, which cuDNN's internal dropout is not).
#include <cublas_v2.h>
#include <cudnn.h>

#include <cstdint>
#include <vector>

#include "unmix/gpu/buffer.h"
#include "unmix/gpu/kernels.h"
#include "unmix/param_table.h"

namespace unmix::gpu {

enum class LstmAlgorithm { Standard, PersistStatic, PersistDynamic };

// Every sequence in a batch has the same length, so there is no padding: cuDNN documents the packed
// layouts for CUDNN_RNN_PADDED_IO_DISABLED (the unpacked ones need padded I/O enabled). With equal lengths,
// SEQ_MAJOR_PACKED is exactly our [T, B, features] memory.
constexpr std::uint32_t kLstmAuxFlags = CUDNN_RNN_PADDED_IO_DISABLED;
constexpr cudnnRNNDataLayout_t kLstmDataLayout = CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_PACKED;

// Math modes of the two libraries, chosen together. Off: exact float32 products (CUDNN_FMA_MATH, cuBLAS's
// default), for parity. TF32: CUDNN_DEFAULT_MATH (cuDNN may then use TF32 tensor cores on float data, as
// PyTorch configures it with allow_tf32) and CUBLAS_TF32_TENSOR_OP_MATH. Never
// CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION: that lets cuDNN convert to FP16, a different precision.
inline cudnnMathType_t cudnn_math(bool tf32) { return tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH; }
inline cublasMath_t cublas_math(bool tf32) { return tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH; }

class CudnnLstmLayer {
 public:
  // training: keeps a reserve space for the backward pass; an inference layer has none and runs only
  // inference forwards. Device work (zeroing the weight space) goes to the handle's stream.
  CudnnLstmLayer(cudnnHandle_t handle, int layer, int input_size, int hidden, bool tf32, LstmAlgorithm algorithm,
                 bool training = true);
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
  // `device_seq_lengths`: `batch` copies of `frames` in device memory (cudnnRNNForward reads them
  // asynchronously).
  void set_shape(int frames, int batch, const std::int32_t* device_seq_lengths);
  std::size_t workspace_bytes() const { return workspace_bytes_; }

  // x: [T, B, input] (our [input, N] column-major), y: [T, B, 2H]. `training` needs a training layer.
  void forward(bool training, const float* x, float* y, void* workspace);
  // dx overwritten; must follow a training forward; then backward_weights (adds into weight_grads()).
  void backward_data(const float* y, const float* dy, float* dx, void* workspace);
  void backward_weights(const float* x, const float* y, void* workspace);

 private:
  cudnnHandle_t handle_;
  int layer_, input_size_, hidden_;
  LstmAlgorithm algorithm_;
  bool training_;
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
