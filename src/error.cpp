#include "unmix/error.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
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

void AtomicFile::sync() {
  if (synced_) return;
  int fd = ::open(temp_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(target_, "cannot reopen temporary file " + temp_.string() + " for sync: " + std::strerror(errno));
  const int synced = ::fsync(fd);
  const int sync_errno = errno;
  ::close(fd);
  if (synced != 0) fail(target_, std::string("writing to disk failed (fsync): ") + std::strerror(sync_errno));
  synced_ = true;
}

void AtomicFile::commit() {
  // The data reaches the disk before the name does, and the name before commit() returns: after a power
  // loss the target is either the old file or the complete new one.
  sync();
  std::error_code ec;
  std::filesystem::rename(temp_, target_, ec);
  if (ec) fail(target_, "cannot rename temporary file into place: " + ec.message());
  committed_ = true;
  sync_folder(target_.parent_path().empty() ? std::filesystem::path(".") : target_.parent_path());
}

void sync_folder(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // a folder that cannot be opened for reading still took the rename
  const int synced = ::fsync(fd);
  const int sync_errno = errno;
  ::close(fd);
  // Some file systems cannot sync a folder (EINVAL); that is no failure of the write.
  if (synced != 0 && sync_errno != EINVAL && sync_errno != EROFS)
    fail(dir, std::string("syncing the folder failed: ") + std::strerror(sync_errno));
}

std::size_t remove_stale_temp_files(const std::filesystem::path& dir) {
  std::size_t removed = 0;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    // AtomicFile's names: .<target>.tmp.<pid>.<counter>[.<extension>]
    const std::string name = it->path().filename().string();
    const auto tmp = name.rfind(".tmp.");
    if (name.empty() || name[0] != '.' || tmp == std::string::npos) continue;
    const std::string rest = name.substr(tmp + 5);
    const auto dot = rest.find('.');
    if (dot == std::string::npos || dot == 0 || rest.find_first_not_of("0123456789") != dot) continue;
    const auto pid = static_cast<pid_t>(std::strtol(rest.substr(0, dot).c_str(), nullptr, 10));
    // Only files of processes that are gone: a running writer's temporary file is in use.
    if (pid <= 0 || pid == ::getpid() || ::kill(pid, 0) == 0 || errno != ESRCH) continue;
    std::error_code remove_ec;
    if (std::filesystem::remove(it->path(), remove_ec)) ++removed;
  }
  return removed;
}

}  // namespace unmix
