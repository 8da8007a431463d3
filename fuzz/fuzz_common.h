#pragma once
// Harnesses whose reader takes a path: the input is written to a file in a private folder first.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

namespace unmix::fuzz {

// Removed when the fuzzer exits (libFuzzer ends a timed run with exit()).
struct WorkDir {
  std::filesystem::path path;
  WorkDir() : path(std::filesystem::temp_directory_path() / ("unmix-fuzz-" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(path);
  }
  ~WorkDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

inline const std::filesystem::path& work_dir() {
  static const WorkDir dir;
  return dir.path;
}

inline std::filesystem::path write_input(const std::string& name, const std::uint8_t* data, std::size_t size) {
  const auto path = work_dir() / name;
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data),
                                                                static_cast<std::streamsize>(size));
  return path;
}

}  // namespace unmix::fuzz
