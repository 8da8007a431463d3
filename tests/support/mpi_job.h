#pragma once
// Running tools/train as a job of MPI ranks from a test: mpirun's command line, a child process with a
// deadline (a hang is reported, not waited for), the environment CI containers need.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace unmix::test {

// Tests run from <build>/tests; the tool is <build>/tools/train.
inline std::filesystem::path train_tool() {
  return std::filesystem::read_symlink("/proc/self/exe").parent_path().parent_path() / "tools" / "train";
}

inline std::string read_text(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs `argv` (stdout and stderr into `log`) and returns its exit code, or -1 when it had to be killed
// after `seconds` (a hang).
inline int run(const std::vector<std::string>& argv, const std::filesystem::path& log, double seconds) {
  const pid_t pid = fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    ::setenv("OMP_NUM_THREADS", "1", 1);
    // mpirun as root (CI containers) and on machines with fewer cores than ranks
    ::setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    ::setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    ::setenv("OMPI_MCA_rmaps_base_oversubscribe", "1", 1);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

inline std::vector<std::string> mpirun(int ranks) {
  return {"mpirun", "-np", std::to_string(ranks), "--bind-to", "none"};
}

inline bool have_mpirun() { return std::system("command -v mpirun > /dev/null 2>&1") == 0; }

}  // namespace unmix::test
