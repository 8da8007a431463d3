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
    std::error_code missing;  // a .json without weights (a recipe, notes) is simply not a target
    if (std::filesystem::is_regular_file(model_weights_path(model_dir, target), missing)) targets.push_back(target);
  }
  if (ec) fail(model_dir, "cannot list the model folder: " + ec.message());
  std::sort(targets.begin(), targets.end());
  return targets;
}

std::vector<std::string> default_targets(const std::filesystem::path& model_dir) {
  const std::vector<std::string> all = list_targets(model_dir);
  std::vector<std::string> wholes;
  for (const auto& t : all) {
    const bool part = std::any_of(all.begin(), all.end(), [&](const std::string& whole) {
      return t.size() > whole.size() + 1 && t.ends_with("_" + whole);
    });
    if (!part) wholes.push_back(t);
  }
  return wholes;
}

std::optional<std::filesystem::path> default_model_dir(const std::filesystem::path& executable) {
  std::error_code ec;
  if (const char* env = std::getenv("UNMIX_MODEL_DIR"); env && *env) return std::filesystem::path(env);
  std::vector<std::filesystem::path> candidates = {std::filesystem::current_path(ec) / "models" / "default"};
  if (!executable.empty()) {
    const auto exe = std::filesystem::weakly_canonical(executable, ec);
    if (!ec) {
      // installed: <prefix>/bin/separate -> <prefix>/share/guitar-unmix/models/default
      candidates.push_back(exe.parent_path().parent_path() / "share" / "guitar-unmix" / "models" / "default");
      // a build folder inside the source tree: <source>/build/tools/separate -> <source>/models/default
      candidates.push_back(exe.parent_path().parent_path().parent_path() / "models" / "default");
    }
  }
#ifdef UNMIX_SOURCE_DIR
  // a build folder anywhere else: the source tree it was configured from
  candidates.push_back(std::filesystem::path(UNMIX_SOURCE_DIR) / "models" / "default");
#endif
  // A folder counts only when it holds a model (models/default also keeps the recipe).
  for (const auto& dir : candidates)
    if (std::filesystem::is_directory(dir, ec) && !list_targets(dir).empty()) return dir;
  return std::nullopt;
}

}  // namespace unmix
