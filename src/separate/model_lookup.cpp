// Finding models: the targets a model directory holds and the default model directory.
#include <algorithm>
#include <cstdlib>
#include <system_error>

#include "unmix/model_dir.h"
#include "unmix/separator.h"

namespace unmix {

std::vector<std::string> list_targets(const std::filesystem::path& model_dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(model_dir, ec)) fail(model_dir, "model folder does not exist");
  std::vector<std::string> targets;
  for (const auto& entry : std::filesystem::directory_iterator(model_dir, ec)) {
    const auto& path = entry.path();
    if (path.extension() != ".json" || path.stem() == "separator") continue;
    const std::string target = path.stem().string();
    if (std::filesystem::is_regular_file(model_weights_path(model_dir, target), ec)) targets.push_back(target);
  }
  if (ec) fail(model_dir, "cannot list the model folder: " + ec.message());
  std::sort(targets.begin(), targets.end());
  return targets;
}

std::optional<std::filesystem::path> default_model_dir(const std::filesystem::path& executable) {
  std::error_code ec;
  if (const char* env = std::getenv("UNMIX_MODEL_DIR"); env && *env) return std::filesystem::path(env);
  std::vector<std::filesystem::path> candidates = {std::filesystem::current_path(ec) / "models" / "default"};
  if (!executable.empty()) {
    // build/tools/separate -> <source tree>/models/default
    const auto exe = std::filesystem::weakly_canonical(executable, ec);
    if (!ec) candidates.push_back(exe.parent_path().parent_path().parent_path() / "models" / "default");
  }
  for (const auto& dir : candidates)
    if (std::filesystem::is_directory(dir, ec)) return dir;
  return std::nullopt;
}

}  // namespace unmix
