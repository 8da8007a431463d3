#pragma once
// Whole-file text output through unmix::AtomicFile, shared by the training outputs.
#include <filesystem>
#include <fstream>
#include <string>

#include "unmix/error.h"

namespace unmix::train {

inline void write_text_atomically(const std::filesystem::path& file, const std::string& text) {
  AtomicFile out(file);
  {
    std::ofstream stream(out.temp_path(), std::ios::binary | std::ios::trunc);
    if (!stream) fail(file, "cannot create " + out.temp_path().string());
    stream.write(text.data(), static_cast<std::streamsize>(text.size()));
    stream.flush();
    if (!stream) fail(file, "write failed (disk full?)");
  }
  out.commit();
}

}  // namespace unmix::train
