// The CPU reference model behind the separator's model interface.
#include "unmix/separator.h"
#include "unmix/umx_cpu.h"

namespace unmix {

namespace {

class CpuModel final : public SpectrogramModel {
 public:
  explicit CpuModel(UmxWeights weights) : weights_(std::move(weights)), model_(weights_) {}
  const ModelConfig& config() const override { return weights_.config; }
  void forward(const float* mix, int frames, int batch, float* out) override {
    model_.forward(mix, frames, batch, Mode::Eval, out);
  }
  std::string device_name() const override { return "cpu"; }

 private:
  UmxWeights weights_;
  UmxCpu model_;  // refers to weights_
};

}  // namespace

std::unique_ptr<SpectrogramModel> make_cpu_model(UmxWeights weights) {
  return std::make_unique<CpuModel>(std::move(weights));
}

}  // namespace unmix
