// Where the GPU engine's model plugs into the separator. This build has no GPU model engine yet, so
// --device auto stays on the CPU and --device cuda runs the model on the CPU (the Wiener filter still
// runs on the GPU). The GPU engine replaces these two functions.
#include "unmix/separator.h"

namespace unmix {

bool gpu_model_available() { return false; }

std::unique_ptr<SpectrogramModel> make_gpu_model(const UmxWeights&, int) { return nullptr; }

}  // namespace unmix
