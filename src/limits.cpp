#include "unmix/limits.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <new>
#include <thread>

#include "unmix/error.h"

namespace unmix {

int max_threads() {
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  return static_cast<int>(std::max(16u, 4 * cores));
}

namespace {
std::string number_text(double x) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.9g", x);
  return buf;
}
}  // namespace

void check_range(const std::string& flag, std::int64_t value, std::int64_t lo, std::int64_t hi) {
  if (value < lo || value > hi)
    fail(flag, std::to_string(value) + " is out of range: must be in [" + std::to_string(lo) + ", " +
                   std::to_string(hi) + "]");
}

void check_range(const std::string& flag, double value, double lo, double hi) {
  if (!std::isfinite(value) || value < lo || value > hi)
    fail(flag, number_text(value) + " is out of range: must be in [" + number_text(lo) + ", " + number_text(hi) + "]");
}

void check_threads(const std::string& flag, std::int64_t threads, bool zero_means_all) {
  const int most = max_threads();
  if (threads < 0 || (threads == 0 && !zero_means_all) || threads > most)
    fail(flag, std::to_string(threads) + " threads: must be " + (zero_means_all ? "0 (all cores) or " : "") +
                   "between 1 and " + std::to_string(most) + " (4 per core of this machine's " +
                   std::to_string(std::max(1u, std::thread::hardware_concurrency())) + ", at least 16)");
}

int report_exception(const char* tool) {
  try {
    throw;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "%s: out of memory: the input or a setting asks for more memory than this machine has\n", tool);
  } catch (const std::exception& e) {  // unmix::Error says "<file>: <problem>"; filesystem errors name their paths
    std::fprintf(stderr, "%s: %s\n", tool, e.what());
  } catch (...) {
    std::fprintf(stderr, "%s: unexpected error\n", tool);
  }
  std::fflush(stderr);
  return 1;
}

namespace {
const char* g_tool = "error";
}  // namespace

void exit_cleanly_on_terminate(const char* tool) {
  g_tool = tool;
  std::set_terminate([] {
    if (std::current_exception()) {
      report_exception(g_tool);
    } else {
      std::fprintf(stderr, "%s: internal error (terminate without an exception)\n", g_tool);
    }
    std::_Exit(1);
  });
}

}  // namespace unmix
