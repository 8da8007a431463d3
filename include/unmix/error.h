#pragma once
// One exception type for every user-facing failure. Its message is a single line that names the
// file (or object) and the problem, so tools can print it as-is and exit non-zero.
#include <filesystem>
#include <stdexcept>
#include <string>

namespace unmix {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws Error("<where>: <what>").
[[noreturn]] void fail(const std::string& where, const std::string& what);
[[noreturn]] inline void fail(const char* where, const std::string& what) { fail(std::string(where), what); }
[[noreturn]] void fail(const std::filesystem::path& where, const std::string& what);

// Writes through a temporary file in the same directory and renames it over `target` on success,
// so an interrupted write never leaves a truncated output behind.
class AtomicFile {
 public:
  explicit AtomicFile(std::filesystem::path target);
  ~AtomicFile();  // removes the temporary file unless commit() succeeded
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  const std::filesystem::path& temp_path() const { return temp_; }
  const std::filesystem::path& target() const { return target_; }
  // Several files that belong together: sync() each (the data is on disk, errors found), then commit() each.
  void sync();    // fsyncs the temporary file (once)
  void commit();  // sync(), renames the temporary file to the target and fsyncs the folder

 private:
  std::filesystem::path target_;
  std::filesystem::path temp_;
  bool committed_ = false;
  bool synced_ = false;
};

// fsync of a folder, so a rename inside it survives a power loss.
void sync_folder(const std::filesystem::path& dir);
// Removes the temporary files (".<name>.tmp.<pid>.<n>") that AtomicFile writers killed before commit()
// left in `dir`; those of running processes stay. Returns how many were removed.
std::size_t remove_stale_temp_files(const std::filesystem::path& dir);

}  // namespace unmix
