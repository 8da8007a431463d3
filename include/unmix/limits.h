#pragma once
// Bounds for numeric command-line flags and settings: what the code can process and what this machine
// has. A value outside them is refused up front by name, instead of ending in a failed allocation, a
// thread pool the system cannot create or an integer overflow deep inside a run.
#include <cstdint>
#include <string>

namespace unmix {

constexpr int kMinSampleRate = 1000;    // below this nothing here is audio (libsamplerate's ratio range ends too)
constexpr int kMaxSampleRate = 768000;  // the highest rate audio interfaces and files use
constexpr int kMaxFftSize = 1 << 16;    // STFT sizes: far beyond any useful spectrogram resolution
constexpr int kMaxHiddenSize = 1 << 16; // the model loader's bound on a model's width

// Threads a --threads / --workers / --jobs flag may ask for: a few times the cores (oversubscription
// beyond that only costs memory), and never so many that creating them fails.
int max_threads();

// Memory this process can still take, in bytes: the kernel's MemAvailable (free memory plus what page
// cache it can reclaim), less where a cgroup limit (containers) or an address-space limit (ulimit -v)
// leaves less. 0 when unknown.
std::int64_t available_memory_bytes();
// "1.5 GB", "230 MB": sizes in messages.
std::string memory_text(std::int64_t bytes);

// Fails "<flag>: ..." unless lo <= value <= hi (and, for doubles, value is finite).
void check_range(const std::string& flag, std::int64_t value, std::int64_t lo, std::int64_t hi);
void check_range(const std::string& flag, double value, double lo, double hi);
// 0 ("all cores") or 1..max_threads().
void check_threads(const std::string& flag, std::int64_t threads, bool zero_means_all = true);

// For the catch-all at the top of a command: call inside a catch block (or with a current exception);
// prints "<tool>: <message>" on one line (out-of-memory said as such) and returns the exit status 1.
int report_exception(const char* tool);
// Makes anything that would end in std::terminate (an exception escaping a worker thread) print the
// same one-line message and exit 1 instead of aborting with a core dump.
void exit_cleanly_on_terminate(const char* tool);

}  // namespace unmix
