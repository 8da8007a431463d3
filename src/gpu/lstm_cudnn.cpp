#include "lstm_cudnn.h"

#include <algorithm>
#include <string>

#include "library_check.h"
#include "unmix/error.h"

namespace unmix::gpu {

namespace {
cudnnRNNAlgo_t to_cudnn(LstmAlgorithm a) {
  switch (a) {
    case LstmAlgorithm::PersistStatic: return CUDNN_RNN_ALGO_PERSIST_STATIC;
    case LstmAlgorithm::PersistDynamic: return CUDNN_RNN_ALGO_PERSIST_DYNAMIC;
    case LstmAlgorithm::Standard: break;
  }
  return CUDNN_RNN_ALGO_STANDARD;
}
}  // namespace

CudnnLstmLayer::CudnnLstmLayer(cudnnHandle_t handle, int layer, int input_size, int hidden, bool tf32,
                               LstmAlgorithm algorithm, bool training)
    : handle_(handle), layer_(layer), input_size_(input_size), hidden_(hidden), algorithm_(algorithm),
      training_(training) {
  UNMIX_CUDNN(cudnnCreateDropoutDescriptor(&dropout_));
  // No dropout inside cuDNN (a single-layer RNN applies none anyway); PyTorch configures it the same way.
  UNMIX_CUDNN(cudnnSetDropoutDescriptor(dropout_, handle_, 0.f, nullptr, 0, 0));
  UNMIX_CUDNN(cudnnCreateRNNDescriptor(&rnn_));
  UNMIX_CUDNN(cudnnSetRNNDescriptor_v8(rnn_, to_cudnn(algorithm), CUDNN_LSTM, CUDNN_RNN_DOUBLE_BIAS,
                                       CUDNN_BIDIRECTIONAL, CUDNN_LINEAR_INPUT, CUDNN_DATA_FLOAT, CUDNN_DATA_FLOAT,
                                       cudnn_math(tf32), input_size, hidden, hidden, 1, dropout_, kLstmAuxFlags));
  std::size_t weight_bytes = 0;
  UNMIX_CUDNN(cudnnGetRNNWeightSpaceSize(handle_, rnn_, &weight_bytes));
  // On the handle's stream: the model's kernels that fill the weight space follow on the same stream.
  cudaStream_t stream = nullptr;
  UNMIX_CUDNN(cudnnGetStream(handle_, &stream));
  weights_.reserve(weight_bytes / sizeof(float));
  weights_.zero(stream);
  if (training_) {
    weight_grads_.reserve(weight_bytes / sizeof(float));
    weight_grads_.zero(stream);
  }
  UNMIX_CUDNN(cudnnCreateRNNDataDescriptor(&x_desc_));
  UNMIX_CUDNN(cudnnCreateRNNDataDescriptor(&y_desc_));
  UNMIX_CUDNN(cudnnCreateTensorDescriptor(&h_desc_));
}

CudnnLstmLayer::~CudnnLstmLayer() {
  if (h_desc_) cudnnDestroyTensorDescriptor(h_desc_);
  if (y_desc_) cudnnDestroyRNNDataDescriptor(y_desc_);
  if (x_desc_) cudnnDestroyRNNDataDescriptor(x_desc_);
  if (rnn_) cudnnDestroyRNNDescriptor(rnn_);
  if (dropout_) cudnnDestroyDropoutDescriptor(dropout_);
}

std::vector<CopySegment> CudnnLstmLayer::weight_segments(const ParamTable& table) const {
  std::vector<CopySegment> segments;
  cudnnTensorDescriptor_t m_desc, b_desc;
  UNMIX_CUDNN(cudnnCreateTensorDescriptor(&m_desc));
  UNMIX_CUDNN(cudnnCreateTensorDescriptor(&b_desc));
  const auto base = reinterpret_cast<std::uintptr_t>(weights_.data());
  const std::int64_t H = hidden_;
  for (int direction = 0; direction < 2; ++direction) {
    const std::string suffix = "_l" + std::to_string(layer_) + (direction ? "_reverse" : "");
    const auto& w_ih = table.at("lstm.weight_ih" + suffix);
    const auto& w_hh = table.at("lstm.weight_hh" + suffix);
    const auto& b_ih = table.at("lstm.bias_ih" + suffix);
    const auto& b_hh = table.at("lstm.bias_hh" + suffix);
    // cuDNN linear-layer ids 0-3 are the input-weight gates i, f, g, o (PyTorch's order), 4-7 the recurrent
    // ones; each gate matrix is a contiguous row-major [H, in] block, as in PyTorch's [4H, in] tensor.
    for (int id = 0; id < 8; ++id) {
      void* m_addr = nullptr;
      void* b_addr = nullptr;
      UNMIX_CUDNN(cudnnGetRNNWeightParams(handle_, rnn_, direction, weights_.bytes(), weights_.data(), id, m_desc,
                                          &m_addr, b_desc, &b_addr));
      const bool recurrent = id >= 4;
      const int gate = id % 4;
      const std::int64_t columns = recurrent ? H : input_size_;
      cudnnDataType_t dtype;
      int nb_dims = 0, dims[4] = {0, 0, 0, 0}, strides[4];
      UNMIX_CUDNN(cudnnGetTensorNdDescriptor(m_desc, 4, &dtype, &nb_dims, dims, strides));
      std::int64_t numel = 1;
      for (int d = 0; d < nb_dims; ++d) numel *= dims[d];
      if (numel != H * columns) fail("cudnn lstm", "unexpected weight matrix size from cudnnGetRNNWeightParams");
      const std::size_t matrix_offset = (reinterpret_cast<std::uintptr_t>(m_addr) - base) / sizeof(float);
      const std::size_t bias_offset = (reinterpret_cast<std::uintptr_t>(b_addr) - base) / sizeof(float);
      const auto& w = recurrent ? w_hh : w_ih;
      const auto& b = recurrent ? b_hh : b_ih;
      segments.push_back({static_cast<std::int64_t>(w.offset) + gate * H * columns,
                          static_cast<std::int64_t>(matrix_offset), H * columns});
      segments.push_back({static_cast<std::int64_t>(b.offset) + gate * H, static_cast<std::int64_t>(bias_offset), H});
    }
  }
  cudnnDestroyTensorDescriptor(m_desc);
  cudnnDestroyTensorDescriptor(b_desc);
  return segments;
}

void CudnnLstmLayer::set_shape(int frames, int batch, const std::int32_t* device_seq_lengths) {
  device_seq_lengths_ = device_seq_lengths;
  if (frames == frames_ && batch == batch_) return;
  frames_ = frames;
  batch_ = batch;
  const std::vector<int> lengths(batch, frames);
  UNMIX_CUDNN(cudnnSetRNNDataDescriptor(x_desc_, CUDNN_DATA_FLOAT, kLstmDataLayout, frames, batch, input_size_,
                                        lengths.data(), nullptr));
  UNMIX_CUDNN(cudnnSetRNNDataDescriptor(y_desc_, CUDNN_DATA_FLOAT, kLstmDataLayout, frames, batch, 2 * hidden_,
                                        lengths.data(), nullptr));
  const int dims[3] = {2, batch, hidden_};
  const int strides[3] = {batch * hidden_, hidden_, 1};
  UNMIX_CUDNN(cudnnSetTensorNdDescriptor(h_desc_, CUDNN_DATA_FLOAT, 3, dims, strides));
  if (algorithm_ == LstmAlgorithm::PersistDynamic) UNMIX_CUDNN(cudnnBuildRNNDynamic(handle_, rnn_, batch));
  std::size_t work_train = 0, reserve = 0, work_infer = 0, unused = 0;
  UNMIX_CUDNN(cudnnGetRNNTempSpaceSizes(handle_, rnn_, CUDNN_FWD_MODE_INFERENCE, x_desc_, &work_infer, &unused));
  if (training_)
    UNMIX_CUDNN(cudnnGetRNNTempSpaceSizes(handle_, rnn_, CUDNN_FWD_MODE_TRAINING, x_desc_, &work_train, &reserve));
  workspace_bytes_ = std::max(work_train, work_infer);
  reserve_.reserve(reserve);
}

void CudnnLstmLayer::forward(bool training, const float* x, float* y, void* workspace) {
  if (training && !training_) fail("cudnn lstm", "a training forward on a layer made for inference");
  UNMIX_CUDNN(cudnnRNNForward(handle_, rnn_, training ? CUDNN_FWD_MODE_TRAINING : CUDNN_FWD_MODE_INFERENCE,
                              device_seq_lengths_, x_desc_, x, y_desc_, y, h_desc_, nullptr, nullptr, h_desc_, nullptr,
                              nullptr, weights_.bytes(), weights_.data(), workspace_bytes_, workspace,
                              training ? reserve_.bytes() : 0, training ? reserve_.data() : nullptr));
}

void CudnnLstmLayer::backward_data(const float* y, const float* dy, float* dx, void* workspace) {
  if (!training_) fail("cudnn lstm", "backward on a layer made for inference");
  UNMIX_CUDNN(cudnnRNNBackwardData_v8(handle_, rnn_, device_seq_lengths_, y_desc_, y, dy, x_desc_, dx, h_desc_, nullptr,
                                      nullptr, nullptr, h_desc_, nullptr, nullptr, nullptr, weights_.bytes(),
                                      weights_.data(), workspace_bytes_, workspace, reserve_.bytes(), reserve_.data()));
}

void CudnnLstmLayer::backward_weights(const float* x, const float* y, void* workspace) {
  UNMIX_CUDNN(cudnnRNNBackwardWeights_v8(handle_, rnn_, CUDNN_WGRAD_MODE_ADD, device_seq_lengths_, x_desc_, x, h_desc_,
                                         nullptr, y_desc_, y, weight_grads_.bytes(), weight_grads_.data(),
                                         workspace_bytes_, workspace, reserve_.bytes(), reserve_.data()));
}

}  // namespace unmix::gpu
