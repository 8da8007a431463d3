// The CPU reference model behind the separator's model interface.
#include "unmix/separator.h"
#include "unmix/umx_cpu.h"

namespace unmix {

namespace {

class CpuModel final : public SpectrogramModel {
 public:
  explicit CpuModel(UmxWeights weights) : weights_(std::move(weights)) {}
  const ModelConfig& config() const override { return weights_.config; }
  void forward(const float* mix, int frames, int batch, float* out) override {
    // UmxCpu keeps every activation for a backward pass (about 100 KB per frame at hidden 512); a model
    // made per call lets them go as soon as the chunk's forward is done, so the separator's memory
    // peaks stay apart.
    UmxCpu model(weights_);
    model.forward(mix, frames, batch, Mode::Eval, out);
  }
  std::string device_name() const override { return "cpu"; }

 private:
  UmxWeights weights_;
};

}  // namespace

std::unique_ptr<SpectrogramModel> make_cpu_model(UmxWeights weights) {
  return std::make_unique<CpuModel>(std::move(weights));
}

}  // namespace unmix
