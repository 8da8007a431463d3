#include "unmix/limits.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <new>
#include <thread>

#include <sys/resource.h>
#include <unistd.h>

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

// The first number on the line of /proc/meminfo that starts with `key`, in bytes; -1 when absent.
std::int64_t meminfo_bytes(const std::string& key) {
  std::ifstream in("/proc/meminfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key, 0) == 0) return std::strtoll(line.c_str() + key.size(), nullptr, 10) * 1024;  // in kB
  return -1;
}
// A cgroup v2 file holding one number ("max" for none); -1 when absent or unlimited.
std::int64_t cgroup_number(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string text;
  if (!(in >> text) || text == "max") return -1;
  char* end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  return end && *end == '\0' && v >= 0 ? v : -1;
}
// The value of `key` in a cgroup's memory.stat ("key value" lines); -1 when absent.
std::int64_t cgroup_stat(const std::filesystem::path& file, const std::string& key) {
  std::ifstream in(file);
  std::string name;
  long long value = 0;
  while (in >> name >> value)
    if (name == key) return value;
  return -1;
}
}  // namespace

std::int64_t available_memory_bytes() {
  std::int64_t available = meminfo_bytes("MemAvailable:");
  if (available < 0) {
    const long pages = ::sysconf(_SC_AVPHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
    available = pages > 0 && page > 0 ? static_cast<std::int64_t>(pages) * page : 0;
  }
  // This process's memory cgroup, as containers and job schedulers set: v2 ("0::<path>" in /proc/self/cgroup,
  // memory.max) or v1 ("<n>:memory:<path>", memory.limit_in_bytes); inside a container the path may only
  // exist as the mount's root.
  auto limit_by = [&available](const std::filesystem::path& mount, const std::string& path, const char* max_file,
                               const char* used_file, const char* stat_key) {
    std::filesystem::path dir = mount / std::filesystem::path(path).relative_path();
    std::error_code ec;
    if (!std::filesystem::exists(dir / max_file, ec)) dir = mount;
    const std::int64_t limit = cgroup_number(dir / max_file), used = cgroup_number(dir / used_file);
    if (limit <= 0 || limit >= (std::int64_t{1} << 62) || used < 0) return;  // none (v1 says unlimited as ~2^63)
    // The usage counts the page cache too; its inactive part is given back on demand, so it is not in use.
    const std::int64_t reclaimable = std::max<std::int64_t>(cgroup_stat(dir / "memory.stat", stat_key), 0);
    const std::int64_t left = std::max<std::int64_t>(limit - std::max<std::int64_t>(used - reclaimable, 0), 1);
    available = available > 0 ? std::min(available, left) : left;
  };
  std::ifstream groups("/proc/self/cgroup");
  for (std::string line; std::getline(groups, line);) {
    const auto first = line.find(':'), second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    const std::string controllers = line.substr(first + 1, second - first - 1), path = line.substr(second + 1);
    if (line.rfind("0::", 0) == 0) limit_by("/sys/fs/cgroup", path, "memory.max", "memory.current", "inactive_file");
    else if (controllers == "memory") limit_by("/sys/fs/cgroup/memory", path, "memory.limit_in_bytes", "memory.usage_in_bytes",
                    "total_inactive_file");
  }
  // A limit on the address space (ulimit -v, common on shared clusters) leaves what is not mapped yet.
  rlimit as{};
  if (::getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY) {
    std::ifstream statm("/proc/self/statm");
    std::int64_t mapped_pages = 0;
    statm >> mapped_pages;
    const std::int64_t left =
        std::max<std::int64_t>(static_cast<std::int64_t>(as.rlim_cur) - mapped_pages * ::sysconf(_SC_PAGESIZE), 1);
    available = available > 0 ? std::min(available, left) : left;
  }
  return available;
}

std::string memory_text(std::int64_t bytes) {
  char buf[32];
  if (bytes >= (std::int64_t{1} << 30)) std::snprintf(buf, sizeof(buf), "%.1f GB", static_cast<double>(bytes) / double(1 << 30));
  else std::snprintf(buf, sizeof(buf), "%.0f MB", std::max(static_cast<double>(bytes) / double(1 << 20), 1.0));
  return buf;
}

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
