#include "unmix/error.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <system_error>

namespace unmix {

void fail(const std::string& where, const std::string& what) { throw Error(where + ": " + what); }
void fail(const std::filesystem::path& where, const std::string& what) { fail(where.string(), what); }

namespace {
std::filesystem::path unique_temp_name(const std::filesystem::path& target) {
  static std::atomic<unsigned> counter{0};
  std::string name = ".";
  name.append(target.filename().string()).append(".tmp.").append(std::to_string(::getpid()));
  name.append(".").append(std::to_string(counter++));
  return target.parent_path() / name;
}
}  // namespace

AtomicFile::AtomicFile(std::filesystem::path target) : target_(std::move(target)), temp_(unique_temp_name(target_)) {}

AtomicFile::~AtomicFile() {
  if (!committed_) {
    std::error_code ec;
    std::filesystem::remove(temp_, ec);
  }
}

void AtomicFile::commit() {
  int fd = ::open(temp_.c_str(), O_RDONLY);
  if (fd < 0) fail(target_, "cannot reopen temporary file " + temp_.string() + " for sync");
  ::fsync(fd);
  ::close(fd);
  std::error_code ec;
  std::filesystem::rename(temp_, target_, ec);
  if (ec) fail(target_, "cannot rename temporary file into place: " + ec.message());
  committed_ = true;
}

}  // namespace unmix
