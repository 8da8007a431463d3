#include "test_support.h"

#include <atomic>
#include <unistd.h>

namespace unmix::test {

std::filesystem::path fixture(const std::string& name) { return std::filesystem::path(UNMIX_FIXTURE_DIR) / name; }

std::filesystem::path temp_dir(const std::string& tag) {
  static std::atomic<int> counter{0};
  auto dir = std::filesystem::temp_directory_path() /
             ("unmix-test-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace unmix::test
