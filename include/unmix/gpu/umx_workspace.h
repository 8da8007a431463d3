#pragma once
// What UmxGpu allocates for a (frames, batch) shape, as element counts: a plain function of the model
// config, so it can be checked without a GPU. cuDNN's own workspace (and, in training, its reserve space)
// comes on top and is only known on the device.
//
// Inference keeps no tensor a backward pass would need: BatchNorm and its activation run in place, the
// BiLSTM layers alternate between two output buffers, and there are no gradient, Adam or dropout buffers.
#include <cstddef>

#include "unmix/config.h"

namespace unmix::gpu {

enum class Purpose { Training, Inference };

struct UmxWorkspace {
  // forward activations, [features, N] each
  std::size_t x_in = 0;          // cropped, normalized input
  std::size_t fc1_out = 0;       // fc1; tanh(bn1(.)) in place in inference
  std::size_t tanh_out = 0;      // training only: bn1's input is kept for its backward
  std::size_t fc2_out = 0;       // fc2; relu(bn2(.)) in place in inference
  std::size_t relu_out = 0;      // training only
  std::size_t fc3_out = 0;       // fc3; bn3 in place in inference
  std::size_t bn3_out = 0;       // training only
  std::size_t mix_magnitude = 0;  // |X| of forward_spectrum's input
  int lstm_out_buffers = 0;      // each lstm_out values; one per layer in training, two alternating in inference
  std::size_t lstm_out = 0;
  int lstm_in_buffers = 0;       // training: the dropped-out input of layers 1..L-1, and its mask
  std::size_t lstm_in = 0;
  // backward (training only)
  std::size_t d_output_features = 0;  // two buffers of output_features x N
  std::size_t d_hidden = 0;           // five buffers of hidden x N
  std::size_t d_x_in = 0;
  std::size_t reduction_partials = 0;  // doubles

  std::size_t bytes() const;
};

UmxWorkspace plan_workspace(const ModelConfig& config, int frames, int batch, Purpose purpose);

}  // namespace unmix::gpu
