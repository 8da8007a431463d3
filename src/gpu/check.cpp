#include "unmix/gpu/check.h"

#include "unmix/error.h"

namespace unmix::gpu {

void throw_gpu_error(const char* library, const char* expr, const char* file, int line, const std::string& message) {
  throw Error(std::string(library) + " error: " + message + " in " + expr + " (" + file + ":" + std::to_string(line) +
              ")");
}

}  // namespace unmix::gpu
