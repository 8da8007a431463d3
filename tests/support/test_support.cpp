#include "test_support.h"

#include <atomic>
#include <cstdlib>
#include <unistd.h>

namespace unmix::test {

std::filesystem::path fixture(const std::string& name) {
  // UNMIX_FIXTURE_DIR in the environment wins, for test binaries run away from the source tree.
  const char* dir = std::getenv("UNMIX_FIXTURE_DIR");
  return std::filesystem::path(dir && *dir ? dir : UNMIX_FIXTURE_DIR) / name;
}

std::filesystem::path temp_dir(const std::string& tag) {
  static std::atomic<int> counter{0};
  auto dir = std::filesystem::temp_directory_path() /
             ("unmix-test-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace unmix::test
